import Testing

@testable import PixelEdgeApp
@testable import PixelEdgeHTTP
@testable import PixelEdgeAdministration
@testable import PixelEdgeCore
@testable import PixelEdgePostgres
@testable import PixelEdgeTestSupport

/// The `--database postgres://…` URL: what it says, what it refuses, and that no message shows its password.
@Suite struct PostgresURLTests {
    @Test func readsEveryPart() throws {
        let url = try PostgresURL("postgres://edge:s3cret@db.internal:6432/pixeledge?sslmode=verify-full")
        #expect(url == PostgresURL(host: "db.internal", port: 6432, user: "edge", password: "s3cret", database: "pixeledge", tls: .verifyFull))
        #expect(url.description == "postgres://edge@db.internal:6432/pixeledge")
    }

    @Test func defaultsAsLibpqDoes() throws {
        let url = try PostgresURL("postgresql://db.internal/pixeledge", environment: ["PGPASSWORD": "from-env"])
        #expect(url == PostgresURL(host: "db.internal", port: 5432, user: "postgres", password: "from-env", database: "pixeledge", tls: .prefer))
        #expect(try PostgresURL("postgres://u:inline@h/d", environment: ["PGPASSWORD": "from-env"]).password == "inline")
    }

    @Test(arguments: [
        ("postgres:///pixeledge", "is not a PostgreSQL URL"),
        ("postgres://edge:s3cret@db/pixeledge?sslmode=verify-ca", "sslmode=verify-ca is not one PixelEdge knows: disable, prefer, require, verify-full"),
        ("postgres://edge:s3cret@db/pixeledge?sslmode", "sslmode= is not one PixelEdge knows"),
        ("postgres://edge:s3cret@db/pixeledge?application_name=x", "parameter application_name is not one PixelEdge knows: only sslmode"),
    ])
    func refusesWhatItCannotHonour(text: String, message: String) {
        #expect {
            try PostgresURL(text)
        } throws: { error in
            let text = "\(error)"
            return text.contains(message) && !text.contains("s3cret")
        }
    }

    @Test func messagesNeverShowThePassword() {
        #expect(PostgresURL.withoutPassword("postgres://edge:s3cret@db:5432/p") == "postgres://edge:****@db:5432/p")
        #expect(PostgresURL.withoutPassword("postgres://edge@db/p") == "postgres://edge@db/p")
        #expect(PostgresURL.withoutPassword("postgres://edge:s3:cr@t@db/p") == "postgres://edge:****@db/p")
        #expect(DatabaseLocation("POSTGRES://edge:s3cret@db/p").description == "POSTGRES://edge:****@db/p")
        #expect(DatabaseLocation("pixeledge.sqlite") == .sqlite(path: "pixeledge.sqlite"))
    }
}
