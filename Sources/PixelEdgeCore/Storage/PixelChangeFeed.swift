/// Tells a node that the pixel store changed, sooner than its poll would: each element of `signals` says
/// "read `PixelStore.changes(after:)` now". A store that several nodes share provides one (PostgreSQL's
/// LISTEN/NOTIFY); without one, the poll is how changes made by other processes arrive.
///
/// A signal carries no change itself: one that is lost (a dropped connection) costs a delay, never a
/// change, because what `changes(after:)` returns is read from the store. A feed signals once each time it
/// (re)connects, for what it may have missed meanwhile.
public protocol PixelChangeFeed: Sendable {
    /// Never buffers more than one signal: one waiting says as much as many.
    var signals: AsyncStream<Void> { get }
}
