public import Foundation

/// Where pixel configurations live. The embedded default is `SQLitePixelStore`; the protocol is the seam for a
/// store that several nodes share.
public protocol PixelStore: Sendable {
    func pixel(_ id: PixelID) async throws -> PixelConfig?
    func allPixels() async throws -> [PixelConfig]
    /// Up to `limit` pixels whose id comes after `after`, in id order, of those whose id or TikTok Pixel Code
    /// contains `search` (ignoring case; every pixel when it is empty): a page of the admin API's list.
    func pixels(containing search: String, after: PixelID?, limit: Int) async throws -> [PixelConfig]
    /// Applies `edit` atomically, as of `now`; throws `ConfigurationError` (storing nothing) when the result
    /// would be invalid.
    func save(_ edit: PixelEdit, for id: PixelID, now: Date) async throws -> SavedPixel
    /// Creates many pixels with a TikTok Pixel Code (and a token, if given) in one transaction: imports,
    /// benchmarks. Existing ids are skipped.
    func createMany(_ pixels: [(id: PixelID, pixelCode: TikTokPixelCode)], accessToken: TikTokAccessToken?, now: Date) async throws
    /// Returns false when there was no such pixel.
    func remove(_ id: PixelID) async throws -> Bool
    /// Everything that changed after `revision`, from any process writing to the store. `changes(after: .zero)` is everything.
    func changes(after revision: StoreRevision) async throws -> PixelChanges
    /// Throws when the store cannot be read.
    func checkReadable() async throws
    /// When the store first saw the bundle templates of `version` (their hash), recording `now` if never:
    /// the same answer for every process that shares the store, so bundles carry the same Last-Modified
    /// on every node.
    func recordTemplates(version: String, now: Date) async throws -> Date
}

extension PixelStore {
    /// A save as of the system clock, for callers that keep no clock of their own (tests, scripts).
    public func save(_ edit: PixelEdit, for id: PixelID) async throws -> SavedPixel {
        try await self.save(edit, for: id, now: Date())
    }
}

/// A point in the store's history: every change to any pixel moves it forward.
public struct StoreRevision: Comparable, Hashable, Sendable, CustomStringConvertible {
    public let value: Int64

    public init(_ value: Int64) {
        self.value = value
    }

    public static let zero = StoreRevision(0)
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }
    public var description: String { String(self.value) }
}

public struct PixelChanges: Sendable {
    public var revision: StoreRevision
    public var updated: [PixelConfig]
    public var removed: [PixelID]
    /// Rows that no longer pass validation (edited by hand, say): reported, never served.
    public var rejected: [(id: String, error: ConfigurationError)]

    public init(revision: StoreRevision, updated: [PixelConfig], removed: [PixelID], rejected: [(id: String, error: ConfigurationError)]) {
        self.revision = revision
        self.updated = updated
        self.removed = removed
        self.rejected = rejected
    }

    public var isEmpty: Bool { self.updated.isEmpty && self.removed.isEmpty && self.rejected.isEmpty }
}

/// The result of a save: the stored pixel, whether anything changed, and the warnings for whoever asked.
public struct SavedPixel: Sendable {
    public let pixel: PixelConfig
    public let created: Bool
    public let changed: Bool
    /// Warnings from parsing this input followed by those that follow from the stored state.
    public let warnings: [ConfigurationWarning]

    public init(pixel: PixelConfig, created: Bool, changed: Bool, warnings: [ConfigurationWarning]) {
        self.pixel = pixel
        self.created = created
        self.changed = changed
        self.warnings = warnings
    }
}
