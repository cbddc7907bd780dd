public import AsyncHTTPClient
import NIOCore
public import ServiceLifecycle
import Synchronization

/// The HTTP client the relay talks to TikTok with, run as a service so that it shuts down after the forwarder.
///
/// Its own rather than `HTTPClient.shared`: the shared client keeps at most 8 HTTP/1.1 connections per host
/// and queues the rest, which held `--forward-concurrency` to 8 requests in flight whatever it said; and it
/// follows redirects, which would carry a pixel's `Access-Token` to wherever a redirect points; and it
/// retries a refused connection until the request's timeout.
///
/// The client is made at its first use: a server that never sends has nothing to shut down.
public final class EventsAPIConnections: Service {
    private let configuration: HTTPClient.Configuration
    private let client = Mutex<HTTPClient?>(nil)

    public init(connectionsPerHost: Int) {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(10), read: .seconds(30)),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, connectionsPerHost))
        )
        // A refused connection fails the request at once: the forwarder has its own retries and backoff,
        // and the client's own retries held each request for its whole 10-second timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        self.configuration = configuration
    }

    public var httpClient: HTTPClient {
        self.client.withLock { client in
            if let client { return client }
            let made = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: self.configuration)
            client = made
            return made
        }
    }

    public func run() async throws {
        // Until shutdown: the forwarder, a later service, has stopped by the time this one is told to.
        try? await gracefulShutdown()
        try await self.shutdown()
    }

    /// Closes the connections, if any were made.
    package func shutdown() async throws {
        try await self.client.withLock { $0 }?.shutdown()
    }
}
