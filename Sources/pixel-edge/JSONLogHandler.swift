import Foundation
import Logging
import Synchronization

/// swift-log's lines as a log pipeline reads them (`serve --log-format json`): one JSON object per line on
/// standard output, `{"time", "level", "label", "message", ...metadata}`, the metadata's values as strings
/// (nested ones as JSON), never a field of its own that could hide ours (a metadata key `time`, `level`,
/// `label` or `message` is written as `metadata.<key>`). What PixelEdge logs carries no secret and no raw
/// personal data: tokens are masked before they reach a logger, and request lines have no query, address
/// or User-Agent.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    /// One line at a time, whole, whatever the threads logging.
    private let output: JSONLogOutput

    init(label: String, output: JSONLogOutput = .standardOutput) {
        self.label = label
        self.output = output
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields: [String: String] = [:]
        let merged = self.metadata.merging(self.metadataProvider?.get() ?? [:]) { _, new in new }.merging(event.metadata ?? [:]) { _, new in new }
        for (key, value) in merged {
            let name = Self.reserved.contains(key) ? "metadata." + key : key
            fields[name] = Self.text(of: value)
        }
        fields["time"] = Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
        fields["level"] = event.level.rawValue
        fields["label"] = self.label
        fields["message"] = event.message.description
        self.output.write(fields)
    }

    static let reserved: Set<String> = ["time", "level", "label", "message"]

    private static func text(of value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): text
        case .stringConvertible(let value): value.description
        case .array, .dictionary: Self.json(value)
        }
    }

    private static func json(_ value: Logger.Metadata.Value) -> String {
        func plain(_ value: Logger.Metadata.Value) -> Any {
            switch value {
            case .string(let text): text
            case .stringConvertible(let value): value.description
            case .array(let items): items.map(plain)
            case .dictionary(let members): members.mapValues(plain)
            }
        }
        let data = (try? JSONSerialization.data(withJSONObject: plain(value), options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("null".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// Where JSON lines go: standard output, each line written with one call under a lock.
final class JSONLogOutput: Sendable {
    private let lock = Mutex<Void>(())
    private let handle: FileHandle

    init(handle: FileHandle) {
        self.handle = handle
    }

    static let standardOutput = JSONLogOutput(handle: .standardOutput)

    func write(_ fields: [String: String]) {
        // The fixed fields first, for people who read the lines too; the metadata after, sorted.
        let order = ["time", "level", "label", "message"]
        var line = "{"
        for (index, key) in (order + fields.keys.filter { !order.contains($0) }.sorted()).enumerated() {
            guard let value = fields[key] else { continue }
            if index > 0 { line += "," }
            line += Self.quoted(key) + ":" + Self.quoted(value)
        }
        line += "}\n"
        let data = Data(line.utf8)
        self.lock.withLock { _ in self.handle.write(data) }
    }

    /// A JSON string: quotes, backslashes and control characters escaped (a message may carry them).
    static func quoted(_ text: String) -> String {
        var quoted = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\n": quoted += "\\n"
            case "\r": quoted += "\\r"
            case "\t": quoted += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || (0x2028...0x2029).contains(scalar.value):
                quoted += String(format: "\\u%04x", scalar.value)
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted + "\""
    }
}
