public import Hummingbird
public import NIOCore

/// The request context of every route: Hummingbird's, plus the connection's peer address, which `/collect`
/// needs for the event's client IP.
public struct PixelEdgeRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }
}
