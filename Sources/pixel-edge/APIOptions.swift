import ArgumentParser
import PixelEdgeCore
import PixelEdgeRelay

/// Where the destinations' server APIs are: the same options for `serve` (the forwarders) and for
/// `pixels set` and `pixels test` (the verification).
struct APIOptions: ParsableArguments {
    @Option(name: .customLong("tiktok-api-base"), help: "Base URL of TikTok's Events API.")
    var tiktokAPIBase = EventsAPIClient.tiktokBase

    @Option(name: .customLong("meta-api-base"), help: "Base URL of Meta's Graph API (Conversions API).")
    var metaAPIBase = ConversionsAPIClient.metaBase

    @Option(name: .customLong("meta-api-version"), help: "Graph API version of Meta's Conversions API requests, such as \(MetaAPIVersion.default).")
    var metaAPIVersion = MetaAPIVersion.default.rawValue

    func validate() throws {
        for (option, value) in [("--tiktok-api-base", self.tiktokAPIBase), ("--meta-api-base", self.metaAPIBase)] {
            if let problem = URLOption.problem(with: value, allowRelative: false) {
                throw ValidationError("\(option) \(problem)")
            }
        }
        do {
            _ = try self.version()
        } catch {
            throw ValidationError("--\(error.field) \(error.message)")
        }
    }

    func version() throws(ConfigurationError) -> MetaAPIVersion {
        try MetaAPIVersion(self.metaAPIVersion)
    }

    /// The connection test on these APIs, with clients of their own (the CLI runs no server).
    func connectionTest() throws -> ConnectionTest {
        ConnectionTest(
            tiktok: EventsAPIClient(base: self.tiktokAPIBase),
            meta: ConversionsAPIClient(base: self.metaAPIBase, version: try self.version())
        )
    }
}
