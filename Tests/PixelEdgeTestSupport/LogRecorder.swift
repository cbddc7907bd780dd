import Logging
import Synchronization

/// Keeps what is logged through its `logger`, for tests of what the log says (and does not say).
final class LogRecorder: Sendable {
    struct Entry: Sendable {
        let level: Logger.Level
        let message: String
    }

    private let entries = Mutex<[Entry]>([])

    var logged: [Entry] { self.entries.withLock { $0 } }

    var logger: Logger {
        var logger = Logger(label: "pixel-edge-tests") { _ in Handler(recorder: self) }
        logger.logLevel = .info
        return logger
    }

    private struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            self.recorder.entries.withLock { $0.append(Entry(level: event.level, message: event.message.description)) }
        }
    }
}
