import Foundation
import Testing

@testable import PixelEdgeApp
@testable import PixelEdgeBundles
@testable import PixelEdgeCore
@testable import PixelEdgeHTTP
@testable import PixelEdgeRelay
@testable import PixelEdgeTestSupport

/// The ranges are the library's: a server built from code refuses what `pixel-edge serve` refuses, with the
/// option's name, before it opens anything.
@Suite struct ServerConfigurationTests {
    @Test func defaultsAreValid() throws {
        try ServerConfiguration().validate()
    }

    /// A configuration with `field`'s value just out of its range.
    static func breaking(_ field: String) -> ServerConfiguration {
        var c = ServerConfiguration(database: .sqlite(path: "/nonexistent/never-opened.sqlite"))
        switch field {
        case "claim-lease": c.relay.forwarder.claimLease = .zero
        case "forward-concurrency": c.relay.forwarder.concurrency = 1025
        case "max-event-age": c.relay.forwarder.maximumAge = 8 * 86400
        case "forward-window-ms": c.relay.forwarder.window = .milliseconds(5)
        case "node-name": c.relay.forwarder.node = "two words"
        case "outbox-limit": c.relay.outboxLimit = 0
        case "idle-timeout": c.connections.idleTimeout = .zero
        case "max-connections": c.connections.maximumConnections = 0
        case "max-age": c.bundle.cachePolicy.maxAge = -1
        case "port": c.port = 70000
        case "threads": c.threads = 0
        case "reload-interval-ms": c.reloadInterval = .seconds(61)
        case "bundle-cache-size": c.bundleCacheSize = 1000
        default: Issue.record("no case for \(field)")
        }
        return c
    }

    @Test(arguments: [
        "claim-lease", "forward-concurrency", "max-event-age", "forward-window-ms", "node-name", "outbox-limit", "idle-timeout",
        "max-connections", "max-age", "port", "threads", "reload-interval-ms", "bundle-cache-size",
    ])
    func outOfRangeIsRefusedByName(field: String) throws {
        let configuration = Self.breaking(field)
        let error = #expect(throws: ConfigurationError.self) { try configuration.validate() }
        #expect(error?.field == field)
        // The server refuses it before it opens the store (whose path does not exist).
        #expect(throws: ConfigurationError.self) { _ = try PixelEdgeServer(configuration: configuration, logger: TestEnvironment.logger) }
    }
}
