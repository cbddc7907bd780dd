import Foundation
import PixelEdgePostgres

/// Where PixelEdge keeps its pixels and events: an SQLite file, the embedded default for one node, or a
/// PostgreSQL database that several nodes share.
public enum DatabaseLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(url: String)

    /// `postgres://…` or `postgresql://…` is PostgreSQL; anything else is the path of an SQLite file.
    public init(_ text: String) {
        let lowercased = text.lowercased()
        self = lowercased.hasPrefix("postgres://") || lowercased.hasPrefix("postgresql://") ? .postgres(url: text) : .sqlite(path: text)
    }

    public var isSQLite: Bool {
        if case .sqlite = self { true } else { false }
    }

    /// For messages: a URL without its password.
    public var description: String {
        switch self {
        case .sqlite(let path): return path
        case .postgres(let url): return PostgresURL.withoutPassword(url)
        }
    }
}
