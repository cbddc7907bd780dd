import Foundation
import NIOSSL
public import PixelEdgeCore
import PostgresNIO

/// Where a PostgreSQL database is and how to reach it, from a `--database` URL:
/// `postgres://user[:password]@host[:port]/database[?sslmode=MODE]` (also `postgresql://`).
///
/// Without a password in the URL, `PGPASSWORD` from the environment, as libpq does: that keeps the password
/// out of the process list. `sslmode` is libpq's, less the modes that verify a certificate but not its host
/// name: `disable`, `prefer` (the default: TLS when the server offers it), `require` (TLS, the certificate
/// not checked) or `verify-full` (TLS, the certificate and the host name checked against the system's roots).
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    public enum TLSMode: String, Sendable, CaseIterable {
        case disable
        case prefer
        case require
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String?
    public var tls: TLSMode

    public init(host: String, port: Int, user: String, password: String?, database: String?, tls: TLSMode) {
        (self.host, self.port, self.user, self.password, self.database, self.tls) = (host, port, user, password, database, tls)
    }

    public init(_ text: String, environment: [String: String] = [:]) throws(StoreError) {
        guard let components = URLComponents(string: text), ["postgres", "postgresql"].contains(components.scheme ?? ""),
              let host = components.host, !host.isEmpty
        else {
            throw StoreError(.io, "\(Self.withoutPassword(text)) is not a PostgreSQL URL: postgres://user@host[:port]/database")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.user = components.user ?? "postgres"
        self.password = components.password ?? environment["PGPASSWORD"]
        let database = String(components.path.drop { $0 == "/" })
        self.database = database.isEmpty ? nil : database
        self.tls = .prefer
        for item in components.queryItems ?? [] {
            // libpq takes the password as a parameter too; it is masked wherever the URL is printed.
            if item.name == "password" {
                self.password = item.value
                continue
            }
            guard item.name == "sslmode" else {
                throw StoreError(.io, "the PostgreSQL URL's parameter \(item.name.prefix(32)) is not one PixelEdge knows: only sslmode")
            }
            guard let mode = TLSMode(rawValue: item.value ?? "") else {
                throw StoreError(
                    .io, "sslmode=\((item.value ?? "").prefix(20)) is not one PixelEdge knows: \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            self.tls = mode
        }
    }

    /// The URL without its password, for messages and logs.
    public var description: String {
        "postgres://\(self.user)@\(self.host):\(self.port)/\(self.database ?? "")"
    }

    /// `text` with the password in its user information, if any, replaced by `****`: for messages about a
    /// URL, parsed or not.
    /// A `password=` parameter's value is masked too, however it is spelled (`PASSWORD=`, `%70assword=`).
    public static func withoutPassword(_ text: String) -> String {
        var text = text
        if let query = text.firstIndex(of: "?") {
            let parameters = text[text.index(after: query)...].split(separator: "&", omittingEmptySubsequences: false).map { parameter -> String in
                let name = parameter.prefix { $0 != "=" }
                let decoded = (String(name).removingPercentEncoding ?? String(name)).lowercased()
                return decoded == "password" && parameter.contains("=") ? name + "=****" : String(parameter)
            }
            text = text[...query] + parameters.joined(separator: "&")
        }
        guard let at = text[..<(text.firstIndex(of: "?") ?? text.endIndex)].lastIndex(of: "@"), let scheme = text.range(of: "://"),
              scheme.upperBound <= at
        else { return String(text.prefix(200)) }
        let credentials = text[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return String(text.prefix(200)) }
        return String((text[..<colon] + ":****" + text[at...]).prefix(200))
    }
}

extension PostgresURL {
    /// The same server and credentials for one connection of its own (`PostgresConnection`).
    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        switch self.tls {
        case .disable:
            tls = .disable
        case .prefer, .require, .verifyFull:
            var configuration = TLSConfiguration.makeClientConfiguration()
            if self.tls != .verifyFull { configuration.certificateVerification = .none }
            let context = try NIOSSLContext(configuration: configuration)
            tls = self.tls == .prefer ? .prefer(context) : .require(context)
        }
        return PostgresConnection.Configuration(host: self.host, port: self.port, username: self.user, password: self.password, database: self.database, tls: tls)
    }
}

extension PostgresURL.TLSMode {
    var configuration: PostgresClient.Configuration.TLS {
        var tls = TLSConfiguration.makeClientConfiguration()
        if self != .verifyFull { tls.certificateVerification = .none }
        switch self {
        case .disable: return .disable
        case .prefer: return .prefer(tls)
        case .require, .verifyFull: return .require(tls)
        }
    }
}
