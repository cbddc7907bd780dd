import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import PixelEdgeCore

/// Hummingbird's HTTP/1 child channel with the bundle fast path in its pipeline:
///
///     request decoder → BundleFastPathHandler → response encoder → ForwardedResponseTracker
///         → HTTP types codec → connection state → Hummingbird's responder
///
/// The fast path sits after the decoder, to read requests, and before the encoder, so that the bytes it
/// writes go to the socket as they are; what it passes on is handled by Hummingbird as usual.
public struct BundleFastPathChannel: ServerChildChannel, HTTPChannelHandler {
    public typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    public let responder: HTTPChannelHandler.Responder
    let cache: BundleCache
    let metrics: PixelEdgeMetrics

    public init(responder: @escaping HTTPChannelHandler.Responder, cache: BundleCache, metrics: PixelEdgeMetrics) {
        self.responder = responder
        self.cache = cache
        self.metrics = metrics
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let forwarded = ForwardedRequests()
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
            try pipeline.addHandler(BundleFastPathHandler(cache: self.cache, metrics: self.metrics, forwarded: forwarded))
            try pipeline.addHandler(HTTPResponseEncoder(configuration: .init()))
            try pipeline.addHandler(ForwardedResponseTracker(forwarded: forwarded))
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    public func handle(value asyncChannel: Value, logger: Logger) async {
        await self.handleHTTP(asyncChannel: asyncChannel, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 with the bundle fast path (see `BundleFastPathChannel`).
    public static func bundleFastPath(cache: BundleCache, metrics: PixelEdgeMetrics) -> HTTPServerBuilder {
        .init { responder in
            BundleFastPathChannel(responder: responder, cache: cache, metrics: metrics)
        }
    }
}
