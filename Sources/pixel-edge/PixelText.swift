import Foundation
import PixelEdgeAdministration
import PixelEdgeCore

/// How the CLI prints pixels for people (`--json` prints `PixelDocument` instead).
enum PixelText {
    static func describe(_ pixel: PixelConfig, outcome: String?) -> String {
        let updated = pixel.updatedAt.formatted(.iso8601)
        var lines = ["pixel \(pixel.id)\(outcome.map { " " + $0 } ?? "") (version \(pixel.version), updated \(updated))"]
        if let tiktok = pixel.tiktok {
            lines.append("  tiktok:            \(tiktok.isEnabled ? "enabled" : "disabled")")
            lines.append("  pixel code:        \(tiktok.pixelCode)")
            lines.append("  access token:      \(tiktok.accessToken?.masked ?? "none")")
            lines.append("  test event code:   \(tiktok.testEventCode?.rawValue ?? "none")")
        } else {
            lines.append("  tiktok:            not connected")
        }
        // Meta's lines only for a pixel that has Meta: the others read as they always did.
        if let meta = pixel.meta {
            lines.append("  meta:              \(meta.isEnabled ? "enabled" : "disabled")")
            lines.append("  meta pixel id:     \(meta.pixelID)")
            lines.append("  meta access token: \(meta.accessToken?.masked ?? "none")")
            lines.append("  meta test code:    \(meta.testEventCode?.rawValue ?? "none")")
            lines.append("  meta automatic:    \(meta.automaticEvents ? "on" : "off (the pixel's own clicks and form matching)")")
        }
        let settings = pixel.settings
        lines.append("  spa page views:    \(settings.spaPageViews ? "on" : "off")")
        lines.append("  consent:           \(settings.consent.rawValue)")
        lines.append("  phone country:     \(settings.defaultPhoneCountry.map { "+\($0)" } ?? "none (numbers without a country code are not sent)")")
        lines.append("  limited data use:  \(settings.limitedDataUse ? "on" : "off")")
        return lines.joined(separator: "\n")
    }

    /// A destination's server API side of `pixels show`: TikTok's Events API, Meta's Conversions API.
    static func describe(_ details: PixelAdministration.Details.DestinationDetails, destination: DestinationID) -> String {
        let (status, queued, failed) = (details.status, details.queued, details.failed)
        // Padded to the labels' column of the lines below ("what it means:     ").
        let label = "\(destination.serverAPIName.lowercased()):".padding(toLength: 19, withPad: " ", startingAt: 0)
        var lines = ["  \(label)\(status?.state.rawValue ?? "not used yet")"]
        if let status {
            lines.append("  what it means:     \(status.explanation(destination: destination, pixelCode: details.platformID))")
        }
        if let error = status?.lastError {
            let code = error.code.map { "\($0): " } ?? ""
            let request = error.requestID.map { ", \(destination.requestIDName) \($0)" } ?? ""
            lines.append("  last error:        \(code)\(error.message) (\(error.at.formatted(.iso8601))\(request))")
        }
        lines.append("  events:            \(queued) queued, \(status?.sent ?? 0) sent, \(failed) failed, \(status?.expired ?? 0) expired")
        return lines.joined(separator: "\n")
    }

    static func table(_ pixels: [PixelConfig]) -> String {
        guard !pixels.isEmpty else { return "no pixels" }
        let header = ["ID", "VERSION", "TIKTOK PIXEL CODE", "TOKEN", "TEST CODE", "META PIXEL ID", "META TOKEN", "UPDATED"]
        let rows = pixels.map { pixel -> [String] in
            let tiktok = pixel.tiktok
            let code = tiktok.map { $0.pixelCode.rawValue + ($0.isEnabled ? "" : " (disabled)") } ?? "-"
            let meta = pixel.meta
            return [
                pixel.id.rawValue, String(pixel.version), code, tiktok?.accessToken?.masked ?? "-",
                tiktok?.testEventCode?.rawValue ?? "-", meta.map { $0.pixelID.rawValue + ($0.isEnabled ? "" : " (disabled)") } ?? "-",
                meta?.accessToken?.masked ?? "-", pixel.updatedAt.formatted(.iso8601),
            ]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { column, value in
                column == row.count - 1 ? value : value.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
