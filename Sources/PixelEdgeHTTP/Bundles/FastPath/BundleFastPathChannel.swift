public import HummingbirdCore
public import Logging
public import NIOCore
import NIOHTTP1
public import NIOHTTPTypes
import NIOHTTPTypesHTTP1
public import PixelEdgeBundles
public import PixelEdgeMetrics

/// Hummingbird's HTTP/1 child channel with the bundle fast path in its pipeline:
///
///     ConnectionGuard → BundleHeadReader → request decoder → BundleFastPathHandler → response encoder
///         → ForwardedResponseTracker → HTTP types codec → Hummingbird's responder
///
/// The guard sees the raw bytes first (timeouts, backpressure, how the connection ends). `BundleHeadReader`
/// answers plain requests for cached bundles from those bytes, and hands everything else to the decoder
/// byte for byte; `BundleFastPathHandler` reads what the decoder makes of it (refusing the heads that
/// cannot be read safely, answering bundle requests that were not plain) and sits before the encoder, so
/// that the bytes it writes go to the socket as they are; what it passes on is handled by Hummingbird as
/// usual. Both fast path handlers and the tracker report to `ConnectionGuard`, which owns the connection's
/// state machine.
///
/// A connection starts with the first two handlers only; the head reader adds the others
/// (`addHTTPHandlers`) when it first hands bytes on. A connection that only ever asks for cached bundles
/// (a browser's, a CDN's revalidations) never has them: each read then walks two handlers instead of
/// eight (NIO passes every `read` from the pipeline's tail to its head), and holds no decoder and no
/// async channel. Its task waits for them (`HTTPConnection.handlers`) and ends with the connection.
public struct BundleFastPathChannel: ServerChildChannel, HTTPChannelHandler {
    /// A connection's task: the async channel of Hummingbird's handlers once added, nil if the connection
    /// ended without them.
    public struct HTTPConnection: ServerChildChannelValue {
        public let channel: any Channel
        let handlers: EventLoopFuture<NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>?>
    }

    public typealias Value = HTTPConnection

    public let responder: HTTPChannelHandler.Responder
    let cache: BundleCache
    let metrics: PixelEdgeMetrics
    let settings: ConnectionSettings
    let registry: ConnectionRegistry
    let requestLog: RequestLog?

    public init(
        responder: @escaping HTTPChannelHandler.Responder, cache: BundleCache, metrics: PixelEdgeMetrics, settings: ConnectionSettings,
        registry: ConnectionRegistry, requestLog: RequestLog? = nil
    ) {
        self.responder = responder
        self.cache = cache
        self.metrics = metrics
        self.settings = settings
        self.registry = registry
        self.requestLog = requestLog
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let connection = ConnectionGuard(settings: self.settings, registry: self.registry, metrics: self.metrics)
            let handlers = channel.eventLoop.makePromise(of: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>?.self)
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(connection)
            try pipeline.addHandler(
                BundleHeadReader(
                    cache: self.cache, metrics: self.metrics, connection: connection, requestLog: self.requestLog,
                    httpHandlers: .init(
                        add: { handlers.succeed(try self.addHTTPHandlers(to: channel, connection: connection)) },
                        notNeeded: { handlers.succeed(nil) }
                    )
                )
            )
            return HTTPConnection(channel: channel, handlers: handlers.futureResult)
        }
    }

    /// The handlers behind the head reader, and the async channel Hummingbird's responder reads from.
    func addHTTPHandlers(to channel: any Channel, connection: ConnectionGuard) throws -> NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart> {
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
        try pipeline.addHandler(BundleFastPathHandler(cache: self.cache, metrics: self.metrics, connection: connection, requestLog: self.requestLog))
        try pipeline.addHandler(HTTPResponseEncoder(configuration: .init()))
        try pipeline.addHandler(ForwardedResponseTracker(connection: connection))
        try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
        return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
    }

    public func handle(value connection: Value, logger: Logger) async {
        // As Hummingbird's `handleHTTP` does while it reads: a cancelled task stops reading the connection,
        // whose guard then closes it once its answers are written, which completes `handlers`.
        let asyncChannel = await withTaskCancellationHandler {
            try? await connection.handlers.get()
        } onCancel: {
            connection.channel.close(mode: .input, promise: nil)
        }
        guard let asyncChannel else { return }
        await self.handleHTTP(asyncChannel: asyncChannel, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 with the bundle fast path and PixelEdge's connection handling (see `BundleFastPathChannel`).
    public static func bundleFastPath(
        cache: BundleCache, metrics: PixelEdgeMetrics, settings: ConnectionSettings, registry: ConnectionRegistry, requestLog: RequestLog? = nil
    ) -> HTTPServerBuilder {
        .init { responder in
            BundleFastPathChannel(responder: responder, cache: cache, metrics: metrics, settings: settings, registry: registry, requestLog: requestLog)
        }
    }
}

/// The handlers behind `BundleHeadReader` (NIO's decoder and Hummingbird's), added the first time it hands
/// bytes on; `BundleFastPathChannel` completes the connection's task's promise in either closure.
struct DeferredHTTPHandlers {
    /// Adds them behind the head reader.
    let add: () throws -> Void
    /// The connection ended without them.
    let notNeeded: () -> Void
}
