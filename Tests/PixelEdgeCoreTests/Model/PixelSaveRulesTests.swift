import Foundation
import Testing

@testable import PixelEdgeCore

/// The rules both stores follow when saving a pixel, without a database.
@Suite struct PixelSaveRulesTests {
    let id = try! PixelID(validating: "shop")
    let code = try! TikTokPixelCode.parse("C4ABCDEFGHIJKLMNOPQR").value
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func aNewPixelStartsAtVersionOneOrAfterItsTombstone() throws {
        let edit = PixelEdit(pixelCode: .set(self.code))
        guard case .changed(let tiktok, let meta, let settings) = try PixelSaveRules.outcome(of: edit, over: nil) else {
            Issue.record("a new pixel is a change")
            return
        }
        #expect(tiktok?.pixelCode == self.code)
        let fresh = PixelSaveRules.written(id: self.id, tiktok: tiktok, meta: meta, settings: settings, currentVersion: nil, removedVersion: nil, now: self.t0)
        #expect(fresh.version == 1 && fresh.updatedAt == self.t0)
        let again = PixelSaveRules.written(id: self.id, tiktok: tiktok, meta: meta, settings: settings, currentVersion: nil, removedVersion: 7, now: self.t0)
        #expect(again.version == 8, "versions only rise for what holds an old one")
        let saved = PixelSaveRules.saved(fresh, by: edit, created: true)
        #expect(saved.created && saved.changed)
    }

    @Test func anEditThatChangesNothingWritesNothing() throws {
        let current = PixelConfig(id: self.id, tiktok: TikTokDestination(pixelCode: self.code), settings: PixelSettings(), version: 3, updatedAt: self.t0)
        guard case .unchanged(let answer) = try PixelSaveRules.outcome(of: PixelEdit(pixelCode: .set(self.code)), over: current) else {
            Issue.record("the same Pixel Code is no change")
            return
        }
        #expect(answer.pixel == current && !answer.changed && !answer.created)
        guard case .changed = try PixelSaveRules.outcome(of: PixelEdit(pixelCode: .clear), over: current) else {
            Issue.record("clearing the destination is a change")
            return
        }
        let next = PixelSaveRules.written(id: self.id, tiktok: nil, meta: nil, settings: PixelSettings(), currentVersion: 3, removedVersion: 9, now: self.t0)
        #expect(next.version == 4, "an existing pixel's own version counts, not an old tombstone")
    }

    @Test func aMetaDestinationIsAddedKeptAndRemovedLikeTikToks() throws {
        let metaID = try MetaPixelID.parse("1234567890123456").value
        let current = PixelConfig(id: self.id, tiktok: TikTokDestination(pixelCode: self.code), settings: PixelSettings(), version: 3, updatedAt: self.t0)
        guard case .changed(let tiktok, let meta, _) = try PixelSaveRules.outcome(of: PixelEdit(meta: MetaEdit(pixelID: .set(metaID))), over: current) else {
            Issue.record("adding Meta is a change")
            return
        }
        #expect(tiktok == current.tiktok, "TikTok's destination is untouched")
        #expect(meta == MetaDestination(pixelID: metaID))
        #expect(meta?.automaticEvents == false, "Meta's automatic events are off unless asked for")
        let withMeta = PixelConfig(id: self.id, tiktok: tiktok, meta: meta, settings: PixelSettings(), version: 4, updatedAt: self.t0)
        guard case .unchanged = try PixelSaveRules.outcome(of: PixelEdit(meta: MetaEdit(pixelID: .set(metaID))), over: withMeta) else {
            Issue.record("the same Meta pixel ID is no change")
            return
        }
        #expect(throws: ConfigurationError(field: "meta.pixelID", message: "cannot remove the Meta pixel ID and set other Meta settings in the same change")) {
            try PixelSaveRules.outcome(of: PixelEdit(meta: MetaEdit(pixelID: .clear, isEnabled: false)), over: withMeta)
        }
        #expect(throws: ConfigurationError.self) {
            try PixelSaveRules.outcome(of: PixelEdit(meta: MetaEdit(testEventCode: .set(try MetaTestEventCode.parse("TEST123").value))), over: current)
        }
    }
}
