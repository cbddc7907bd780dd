public import PixelEdgeCore

/// Which destinations receive an accepted event, and each one's copy: one `QueuedEvent` per destination
/// the pixel has enabled with the credentials its server API needs. The one list of destinations on the
/// way in; the next one adds its case here and its payload in a folder of its own.
public enum EventCopies {
    /// The destinations that take the pixel's events now; none: the event is valid, and discarded.
    public static func destinations(of pixel: PixelConfig) -> [DestinationID] {
        var destinations: [DestinationID] = []
        if pixel.activeTikTok?.accessToken != nil { destinations.append(.tiktok) }
        if pixel.activeMeta?.accessToken != nil { destinations.append(.meta) }
        return destinations
    }

    /// The event as each of `destinations` receives it.
    public static func copies(of event: CollectedEvent, to destinations: [DestinationID]) -> [QueuedEvent] {
        destinations.compactMap { destination in
            switch destination {
            case .tiktok: QueuedEvent(tiktok: event)
            case .meta: QueuedEvent(meta: event)
            default: nil
            }
        }
    }
}
