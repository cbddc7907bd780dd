import Logging

/// swift-log's text lines (`StreamLogHandler` on standard error, what `serve` wrote before this type), with
/// the logger's own metadata rendered only when a line is written. `StreamLogHandler` renders its metadata
/// every time a value is set, and Hummingbird sets a request id on every request's logger: about 1 % of a
/// `/collect` request's CPU (`perf`, 2026-12-07) went to text for lines the log level then dropped.
/// The lines are `StreamLogHandler`'s own: it writes them, from the same merged metadata.
struct TextLogHandler: LogHandler {
    private var stream: StreamLogHandler
    var metadata: Logger.Metadata = [:]

    init(label: String) {
        // Without a metadata provider: PixelEdge sets none.
        self.stream = StreamLogHandler.standardError(label: label, metadataProvider: nil)
    }

    var logLevel: Logger.Level {
        get { self.stream.logLevel }
        set { self.stream.logLevel = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        // The line's own values over the logger's, as `StreamLogHandler` merges them.
        event.metadata = self.metadata.merging(event.metadata ?? [:]) { _, explicit in explicit }
        self.stream.log(event: event)
    }
}
