import Foundation
import Testing
@testable import PixelEdgeTestSupport

@Suite struct PixelsCommandTests {
    let directory: TemporaryDirectory
    var database: String { self.directory.path("cli.sqlite") }

    init() throws {
        self.directory = try TemporaryDirectory()
    }

    /// Runs the CLI on this test's database; `pixels set` without verification (tested on its own, against
    /// the fake Events API), so that nothing here reaches for TikTok.
    func pixelEdge(_ arguments: String...) async throws -> CommandResult {
        let verify = arguments.starts(with: ["pixels", "set"]) ? ["--no-verify"] : []
        return try await CommandRunner.run(arguments + verify + (arguments.first == "pixels" ? ["--database", self.database] : []))
    }

    @Test func setCreatesThenUpdatesAndNeverPrintsTheToken() async throws {
        let created = try await self.pixelEdge(
            "pixels", "set", "shop", "--tiktok-pixel-code", " \(TestEnvironment.pixelCode)\t", "--tiktok-access-token", TestEnvironment.accessToken
        )
        #expect(created.status == 0)
        #expect(created.standardOutput.hasPrefix("pixel shop created (version 1, updated "))
        #expect(created.standardOutput.contains("  pixel code:        \(TestEnvironment.pixelCode)\n"))
        #expect(created.standardOutput.contains("  access token:      ****wxyz\n"))
        #expect(created.standardOutput.contains("  test event code:   none\n"))
        #expect(created.standardError == "warning: removed whitespace around the TikTok Pixel Code\n")
        #expect(!(created.standardOutput + created.standardError).contains(TestEnvironment.accessToken.prefix(20)))

        let updated = try await self.pixelEdge("pixels", "set", "shop", "--tiktok-test-event-code", "TEST_12345678", "--disable-tiktok")
        #expect(updated.status == 0)
        #expect(updated.standardOutput.hasPrefix("pixel shop updated (version 2, "))
        #expect(updated.standardOutput.contains("  tiktok:            disabled\n"))
        #expect(updated.standardOutput.contains("  access token:      ****wxyz\n"))
        #expect(updated.standardOutput.contains("  test event code:   TEST_12345678\n"))
        #expect(updated.standardError == "warning: TikTok is disabled: the bundle loads no TikTok code\n")

        let unchanged = try await self.pixelEdge("pixels", "set", "shop", "--disable-tiktok")
        #expect(unchanged.standardOutput.hasPrefix("pixel shop unchanged (version 2, "))
    }

    @Test func invalidInputExitsOneWithThePreciseMessageAndChangesNothing() async throws {
        #expect(try await self.pixelEdge("pixels", "set", "shop", "--tiktok-pixel-code", TestEnvironment.pixelCode).status == 0)
        let cases: [([String], String)] = [
            (["--tiktok-pixel-code", "c4abcdefghijklmnopqr"], "error: TikTok Pixel Code \"c4abcdefghijklmnopqr\" contains lowercase letters: TikTok Pixel Codes are uppercase and case-sensitive, re-copy it from Events Manager\n"),
            (["--tiktok-pixel-code", "C4ABCDEFGHIJ"], "error: TikTok Pixel Code \"C4ABCDEFGHIJ\" is 12 characters long: it must be exactly 20, check that the whole code was copied\n"),
            (["--tiktok-pixel-code", "C4ABCDEFGHIJKLMNOPQ!"], "error: TikTok Pixel Code contains \"!\" at position 20: only A-Z and 0-9 are allowed\n"),
            (["--tiktok-access-token", "abc def"], "error: access token contains a space at position 4: re-copy the whole token from Events Manager as one line\n"),
            (["--tiktok-test-event-code", "TEST_1"], "error: Test Event Code \"TEST_1\" has 1 characters after \"TEST_\": it needs 8 to 12\n"),
            (["--tiktok-test-event-code", "12345678"], "error: Test Event Code \"12345678\" must start with \"TEST_\" (copy it from Events Manager > Test Events)\n"),
        ]
        for (options, message) in cases {
            let result = try await CommandRunner.run(["pixels", "set", "shop"] + options + ["--database", self.database])
            #expect(result.status == 1, "\(options)")
            #expect(result.standardError == message)
            #expect(result.standardOutput.isEmpty)
        }
        let shown = try await self.pixelEdge("pixels", "show", "shop", "--json")
        let pixel = try #require(try JSONSerialization.jsonObject(with: Data(shown.standardOutput.utf8)) as? [String: Any])
        #expect(pixel["version"] as? Int == 1)
        #expect((pixel["tiktok"] as? [String: Any])?["accessToken"] is NSNull)

        let badID = try await self.pixelEdge("pixels", "set", "Shop")
        #expect(badID.status == 1)
        #expect(badID.standardError == "error: pixel id contains \"S\" at position 1: only a-z, 0-9, - and _ are allowed; pixel ids are lowercase\n")

        let noCode = try await self.pixelEdge("pixels", "set", "fresh", "--tiktok-access-token", TestEnvironment.accessToken)
        #expect(noCode.status == 1)
        #expect(noCode.standardError.hasPrefix("error: this pixel has no TikTok Pixel Code yet"))
        #expect(try await self.pixelEdge("pixels", "show", "fresh").status == 1)
    }

    @Test func theTokenCanComeFromStandardInput() async throws {
        let result = try await CommandRunner.run(
            ["pixels", "set", "shop", "--tiktok-pixel-code", TestEnvironment.pixelCode, "--tiktok-access-token", "-", "--no-verify", "--database", self.database],
            input: TestEnvironment.accessToken + "\n"
        )
        #expect(result.status == 0)
        #expect(result.standardOutput.contains("  access token:      ****wxyz\n"))
        #expect(result.standardError.isEmpty, "no whitespace warning: the line break is not part of the token")
    }

    @Test func conflictingFlagsAreUsageErrors() async throws {
        let result = try await self.pixelEdge("pixels", "set", "shop", "--disable-tiktok", "--enable-tiktok")
        #expect(result.status == 64)
        #expect(result.standardError.contains("use either --disable-tiktok or --enable-tiktok, not both"))
    }

    @Test func shortTokensWarn() async throws {
        let result = try await self.pixelEdge("pixels", "set", "shop", "--tiktok-pixel-code", TestEnvironment.pixelCode, "--tiktok-access-token", "abc123")
        #expect(result.status == 0)
        #expect(result.standardError.contains("warning: access token is only 6 characters long (TikTok's are usually 60 or more): it may be a partial copy\n"))
    }

    @Test func listShowAndRemove() async throws {
        #expect(try await self.pixelEdge("pixels", "set", "b-shop", "--tiktok-pixel-code", TestEnvironment.pixelCode, "--tiktok-access-token", TestEnvironment.accessToken).status == 0)
        #expect(try await self.pixelEdge("pixels", "set", "a-shop").status == 0)

        let table = try await self.pixelEdge("pixels", "list")
        #expect(table.status == 0)
        let lines = table.standardOutput.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("ID "))
        #expect(lines[1].hasPrefix("a-shop "))
        #expect(lines[2].hasPrefix("b-shop "))
        #expect(lines[2].contains(TestEnvironment.pixelCode))
        #expect(lines[2].contains("****wxyz"))

        let json = try await self.pixelEdge("pixels", "list", "--json")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        let pixels = try #require(document["pixels"] as? [[String: Any]])
        #expect(pixels.map { $0["id"] as? String } == ["a-shop", "b-shop"])
        #expect(!json.standardOutput.contains(TestEnvironment.accessToken))

        let show = try await self.pixelEdge("pixels", "show", "b-shop")
        #expect(show.status == 0)
        #expect(show.standardOutput.hasPrefix("pixel b-shop (version 1, updated "))
        #expect(show.standardOutput.contains("  events api:        not used yet\n  events:            0 queued, 0 sent, 0 failed, 0 expired\n"))

        let removed = try await self.pixelEdge("pixels", "remove", "a-shop")
        #expect(removed.status == 0)
        #expect(removed.standardOutput == "removed pixel a-shop\n")
        let again = try await self.pixelEdge("pixels", "remove", "a-shop")
        #expect(again.status == 1)
        #expect(again.standardError == "error: no pixel a-shop\n")
        let missing = try await self.pixelEdge("pixels", "show", "a-shop")
        #expect(missing.status == 1)
        #expect(missing.standardError == "error: no pixel a-shop\n")
    }

    @Test func readingCommandsRefuseToCreateADatabase() async throws {
        let result = try await CommandRunner.run(["pixels", "list", "--database", self.directory.path("typo.sqlite")])
        #expect(result.status == 1)
        #expect(result.standardError.hasPrefix("error: no database at \(self.directory.path("typo.sqlite"))"))
        #expect(!FileManager.default.fileExists(atPath: self.directory.path("typo.sqlite")))
    }

    @Test func serveRejectsBadOptionsBeforeStarting() async throws {
        let cases: [([String], String)] = [
            (["--port", "70000"], "--port must be between 0 and 65535, not 70000"),
            (["--events-js-url", "ftp://x/events.js"], "--events-js-url must be an http(s) URL, not ftp://x/events.js"),
            (["--collect-url", "collect"], "--collect-url must be an http(s) URL or a path starting with /, not collect"),
            (["--public-url", "edge.example.com"], "--public-url must be an http(s) URL, not edge.example.com"),
            (["--public-url", "https://edge.example.com/?x=1"], "--public-url must not have a query or a fragment: the tag adds /p/ID/pb.js to it"),
            (["--max-age=-1"], "--max-age must be 0 or more seconds, not -1"),
            (["--log-level", "loud"], "--log-level must be one of"),
            (
                ["--events-js-url", "https://cdn.example/events.js?v=2"],
                "--events-js-url must not have a query or a fragment: bundles add ?sdkid=CODE&lib=ttq to it, as TikTok's base code does"
            ),
            (["--idle-timeout", "0"], "--idle-timeout must be between 0.05 and 86400 seconds, not 0.0"),
            (["--max-connections", "0"], "--max-connections must be at least 1, not 0"),
            (["--node-name", "edge 1"], "--node-name must be 1 to 200 printable ASCII characters without spaces"),
            (["--bundle-cache-size", "10K"], "--bundle-cache-size must be at least 1M (about 150 bundles), not 10240 bytes"),
            (["--bundle-cache-size", "2T"], "--bundle-cache-size"),
            (["--bundle-cache-size", "99999999999999999999G"], "--bundle-cache-size"),
            (["--claim-lease", "2h"], "--claim-lease must be between 1s and 1h"),
            (["--forward-concurrency", "0"], "--forward-concurrency must be between 1 and 1024, not 0"),
            (["--max-event-age", "9d"], "--max-event-age"),
        ]
        for (options, message) in cases {
            let result = try await CommandRunner.run(["serve", "--database", self.database] + options)
            #expect(result.status == 64, "\(options)")
            #expect(result.standardError.contains(message), "\(result.standardError)")
        }
        let badTemplates = try await CommandRunner.run(["serve", "--database", self.database, "--templates", self.directory.path("none")])
        #expect(badTemplates.status == 1)
        #expect(badTemplates.standardError.contains("error: cannot read the templates directory"))
        // A PostgreSQL URL PixelEdge cannot honour is refused before anything starts, its password never shown.
        let badURL = try await CommandRunner.run(["serve", "--database", "postgres://edge:s3cret@127.0.0.1:1/p?sslmode=verify-ca"])
        #expect(badURL.status == 1)
        #expect(badURL.standardError.contains("sslmode=verify-ca is not one PixelEdge knows"), "\(badURL.standardError)")
        #expect(!badURL.standardError.contains("s3cret") && !badURL.standardOutput.contains("s3cret"))
        let unreachable = try await CommandRunner.run(["pixels", "list", "--database", "postgres://edge:s3cret@127.0.0.1:1/p"])
        #expect(unreachable.status == 1)
        #expect(unreachable.standardError.contains("postgres://edge:****@127.0.0.1:1/p"), "\(unreachable.standardError)")
        #expect(!unreachable.standardError.contains("s3cret"))
    }

    /// The CLI caps a token as the admin API does (it once stored 1 MiB), without echoing it.
    @Test func anOverlongTokenIsRefusedAsTheAdminAPIRefusesIt() async throws {
        let token = String(repeating: "t0k3n", count: 1000)
        let result = try await self.pixelEdge("pixels", "set", "shop", "--tiktok-pixel-code", TestEnvironment.pixelCode, "--tiktok-access-token", token)
        #expect(result.status != 0)
        #expect(result.standardError.contains("access token is 5000 bytes long, over the 4096 PixelEdge takes"), "\(result.standardError)")
        #expect(!result.standardError.contains("t0k3nt0k3n"))
        #expect(try await self.pixelEdge("pixels", "list").standardOutput.contains("shop") == false)
    }

    /// The access token pasted into the Pixel Code field is a secret: the error describes it, never repeats it.
    @Test func aTokenPastedAsThePixelCodeIsNotEchoed() async throws {
        let token = String(repeating: "ab12cd34ef", count: 6) + "wxyz"
        let result = try await CommandRunner.run(["pixels", "set", "shop", "--tiktok-pixel-code", token, "--database", self.database])
        #expect(result.status == 1)
        #expect(result.standardError.contains("usually the Events API access token"))
        #expect(!result.standardError.contains(token.prefix(12)))
        #expect(!result.standardOutput.contains(token.prefix(12)))
    }

    /// Meta beside TikTok from the command line: set, shown with its token masked, disabled, removed; a
    /// wrong value exits 1 with the same words the admin API uses.
    @Test func metaIsSetShownAndRemoved() async throws {
        let token = "EAABcli" + String(repeating: "k", count: 30) + "6543"
        let created = try await self.pixelEdge("pixels", "set", "both", "--meta-pixel-id", "1234567890123456", "--meta-access-token", token, "--meta-test-event-code", "TEST55")
        #expect(created.status == 0, "\(created.standardError)")
        #expect(created.standardOutput.contains("  meta:              enabled\n"))
        #expect(created.standardOutput.contains("  meta pixel id:     1234567890123456\n"))
        #expect(created.standardOutput.contains("  meta access token: ****6543\n"))
        #expect(created.standardOutput.contains("  meta test code:    TEST55\n"))
        #expect(!(created.standardOutput + created.standardError).contains("EAABcli"))

        let list = try await self.pixelEdge("pixels", "list")
        #expect(list.standardOutput.contains("META PIXEL ID"))
        #expect(list.standardOutput.split(separator: "\n")[1].contains("1234567890123456  ****6543"), "\(list.standardOutput)")

        let disabled = try await self.pixelEdge("pixels", "set", "both", "--disable-meta")
        #expect(disabled.standardOutput.contains("  meta:              disabled\n"))
        #expect(disabled.standardError.contains("warning: Meta is disabled: the bundle loads no Meta code\n"))
        let json = try await self.pixelEdge("pixels", "show", "both", "--json")
        #expect(json.standardOutput.contains(#""accessToken" : "****6543""#))

        let wrong = try await CommandRunner.run(["pixels", "set", "both", "--meta-pixel-id", "0123", "--database", self.database])
        #expect(wrong.status == 1)
        #expect(wrong.standardError == "error: Meta pixel ID \"0123\" starts with 0: Meta's pixel IDs never do (fbevents.js refuses it), re-copy it from Events Manager\n")

        let removed = try await self.pixelEdge("pixels", "set", "both", "--remove-meta")
        #expect(removed.status == 0)
        #expect(!removed.standardOutput.contains("meta"))
    }
}
