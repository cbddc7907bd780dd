public import Foundation

/// What saving an edit over a pixel's stored state comes to: the same rules for every store, so that only
/// their SQL differs (SQLitePixelStore and PostgresPixelStore read the row, ask these, and write).
public enum PixelSaveRules {
    public enum Outcome: Sendable {
        /// The edit changes nothing: nothing is written, and this is the answer.
        case unchanged(SavedPixel)
        /// The pixel to write has this destination and these settings (`written` gives its version).
        case changed(tiktok: TikTokDestination?, meta: MetaDestination?, settings: PixelSettings)
    }

    /// `current` is the stored pixel, nil when there is none.
    public static func outcome(of edit: PixelEdit, over current: PixelConfig?) throws(ConfigurationError) -> Outcome {
        let destination = try edit.applied(to: current?.tiktok)
        let meta = try edit.meta.applied(to: current?.meta)
        let settings = edit.applied(to: current?.settings ?? PixelSettings())
        if let current, current.tiktok == destination, current.meta == meta, current.settings == settings {
            return .unchanged(SavedPixel(pixel: current, created: false, changed: false, warnings: edit.warnings + current.warnings))
        }
        return .changed(tiktok: destination, meta: meta, settings: settings)
    }

    /// The pixel to write. Its version follows the stored one's or, for a pixel created again, the removed
    /// one's (its tombstone), so that versions only rise for whatever holds an old one (caches, pauses).
    public static func written(
        id: PixelID, tiktok: TikTokDestination?, meta: MetaDestination?, settings: PixelSettings, currentVersion: Int?, removedVersion: Int?,
        now: Date
    ) -> PixelConfig {
        PixelConfig(id: id, tiktok: tiktok, meta: meta, settings: settings, version: (currentVersion ?? removedVersion ?? 0) + 1, updatedAt: now)
    }

    /// The answer for a pixel written.
    public static func saved(_ pixel: PixelConfig, by edit: PixelEdit, created: Bool) -> SavedPixel {
        SavedPixel(pixel: pixel, created: created, changed: true, warnings: edit.warnings + pixel.warnings)
    }
}
