import AsyncHTTPClient
import Foundation
public import Logging
import NIOCore
import NIOHTTP1
public import PixelEdgeBundles
public import PixelEdgeCore
import PixelEdgeRelay
public import ServiceLifecycle

/// Tells a CDN that a pixel's bundle changed, by its surrogate key (`pixel-<id>`), so that the next request
/// gets the new bundle instead of waiting for `s-maxage` to run out.
///
/// One request per changed pixel: `method url` with `Surrogate-Key: pixel-<id>`, `{key}` in the URL replaced
/// by the key. That is a `PURGE` to Varnish (with the VCL in `Tests/varnish/`), or a `POST` to Fastly's
/// `https://api.fastly.com/service/ID/purge/{key}` with `--purge-header "Fastly-Key: …"`.
///
/// The CDN is never on the path of a configuration change: `purge` queues and returns, and the service's
/// own loop sends. Each purge has one deadline over connect, head and body (a CDN whose answer trickles or
/// never ends once froze every configuration change, and SIGTERM), reads at most 64 KiB of answer, and
/// follows no redirect (one to another host received the `--purge-header` secrets, once per pixel).
public final class CDNPurger: BundlePurger, Service {
    public struct Settings: Sendable {
        public var url: String
        public var method: String
        /// Extra fields, such as an API token: sent, never logged.
        public var headers: [(name: String, value: String)]
        /// The longest one purge may take, its answer's body included.
        public var timeout: Duration

        public init(url: String, method: String = "PURGE", headers: [(name: String, value: String)] = [], timeout: Duration = .seconds(5)) {
            self.url = url
            self.method = method
            self.headers = headers
            self.timeout = timeout
        }
    }

    /// The most bytes of a CDN's answer read: a purge's answer is a status and a line or two.
    static let answerLimit = 1 << 16

    let settings: Settings
    let logger: Logger
    private let client: HTTPClient
    private let queue: AsyncStream<[PixelID]>
    private let enqueue: AsyncStream<[PixelID]>.Continuation

    public init(settings: Settings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(5)))
        configuration.connectionPool.retryConnectionEstablishment = false
        self.client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        // Changes that come faster than the CDN answers: the newest are kept, the oldest dropped (their
        // bundles are caught up by s-maxage anyway).
        (self.queue, self.enqueue) = AsyncStream.makeStream(of: [PixelID].self, bufferingPolicy: .bufferingNewest(1024))
    }

    /// Queues the pixels' purges; returns at once.
    public func purge(_ pixels: [PixelID]) async {
        self.enqueue.yield(pixels)
    }

    /// Sends the queued purges until shutdown, which ends a purge in flight at once (the CDN catches up at
    /// the end of `s-maxage`).
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            for await pixels in self.queue {
                await self.purgeNow(pixels)
            }
        }
        self.enqueue.finish()
        try await self.client.shutdown()
    }

    /// Purges every pixel concurrently; failures are logged, not thrown: the bundle is already served by
    /// PixelEdge and the CDN catches up at the end of `s-maxage` anyway.
    func purgeNow(_ pixels: [PixelID]) async {
        await withTaskGroup(of: Void.self) { group in
            for pixel in pixels {
                group.addTask { await self.purge(pixel) }
            }
        }
    }

    func purge(_ pixel: PixelID) async {
        let key = PreparedBundle.surrogateKey(for: pixel)
        var request = HTTPClientRequest(url: self.settings.url.replacingOccurrences(of: "{key}", with: key))
        request.method = HTTPMethod(rawValue: self.settings.method)
        request.headers.add(name: "Surrogate-Key", value: key)
        // Purges are rare: a connection of their own each, never a pooled one the CDN may have closed
        // meanwhile ("I/O on closed channel" lost a purge that way).
        request.headers.add(name: "Connection", value: "close")
        for header in self.settings.headers {
            request.headers.add(name: header.name, value: header.value)
        }
        let (client, prepared, timeout) = (self.client, request, self.settings.timeout)
        do {
            let status = try await withDeadline(timeout) {
                let response = try await client.execute(prepared, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000))
                _ = try await response.body.collect(upTo: Self.answerLimit)
                return response.status
            }
            guard let status else {
                self.logger.warning("the CDN did not answer the purge in time", metadata: ["pixel": "\(pixel)", "timeout": "\(timeout)"])
                return
            }
            if (200..<300).contains(status.code) {
                self.logger.info("purged the CDN's copy", metadata: ["pixel": "\(pixel)", "key": "\(key)"])
            } else {
                self.logger.warning("the CDN refused the purge", metadata: ["pixel": "\(pixel)", "status": "\(status.code)"])
            }
        } catch {
            let reason = OutboundFailure.describe(error, answerLimit: Self.answerLimit)
            self.logger.warning("cannot reach the CDN to purge", metadata: ["pixel": "\(pixel)", "error": "\(reason)"])
        }
    }
}
