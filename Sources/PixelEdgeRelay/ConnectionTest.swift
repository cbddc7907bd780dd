import Foundation
import PixelEdgeCore
import PixelEdgeMetrics

/// Sends one test event with the pixel's Test Event Code and says, in plain words, what TikTok answered and
/// what to do about it. Used by `pixel-edge pixels test` and `POST /admin/pixels/{id}/test`.
public struct ConnectionTest: Sendable {
    let client: EventsAPIClient

    public init(client: EventsAPIClient) {
        self.client = client
    }

    public struct Result: Encodable, Sendable, Equatable {
        public let ok: Bool
        public let status: DeliveryStatus.State
        public let code: Int?
        public let message: String
        public let requestId: String?
        public let explanation: String
    }

    public func run(for pixel: PixelConfig, now: Date = Date()) async throws(ConfigurationError) -> Result {
        guard let tiktok = pixel.tiktok else {
            throw ConfigurationError(field: "tiktok", message: "pixel \(pixel.id) has no TikTok destination: set its Pixel Code and access token first")
        }
        guard let token = tiktok.accessToken else {
            throw ConfigurationError(field: "tiktok.accessToken", message: "pixel \(pixel.id) has no access token: the Events API needs one")
        }
        guard let testEventCode = tiktok.testEventCode else {
            throw ConfigurationError(
                field: "tiktok.testEventCode",
                message: "pixel \(pixel.id) has no Test Event Code: copy one from Events Manager > Test Events, so the test event does not count as real traffic"
            )
        }
        let event = CollectedEvent(
            pixel: pixel.id, event: "ViewContent", eventID: "pixeledge-test-\(UUID().uuidString.lowercased())", eventTime: Int64(now.timeIntervalSince1970),
            properties: nil, ttclid: nil, ttp: nil, emailHash: nil, phoneHash: nil, url: "https://pixeledge.invalid/connection-test", referrer: nil,
            ip: nil, userAgent: "PixelEdge connection test"
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(event.eventsAPIData)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        let outcome = await self.client.send(pixelCode: tiktok.pixelCode, accessToken: token, testEventCode: testEventCode, data: [data])
        return Self.explain(outcome, pixel: pixel, endpoint: self.client.endpoint)
    }

    static func explain(_ outcome: EventsAPIOutcome, pixel: PixelConfig, endpoint: String) -> Result {
        let code = pixel.tiktok?.pixelCode.rawValue ?? "?"
        switch outcome {
        case .accepted(let requestID):
            return Result(
                ok: true, status: .ok, code: 0, message: "OK", requestId: requestID,
                explanation: "TikTok accepted the test event\(requestID.map { " (request_id \($0))" } ?? ""). It appears in Events Manager > pixel \(code) > Test Events."
            )
        case .pixelRejected(.invalidPixelCode, let tiktokCode, let message, let requestID):
            return Result(
                ok: false, status: .invalidPixelCode, code: tiktokCode, message: message, requestId: requestID,
                explanation: "TikTok rejected the Pixel Code \(code) (\(tiktokCode): \(message)). Check in Events Manager that the pixel is Active and that the code matches exactly, including its uppercase letters."
            )
        case .pixelRejected(let state, let tiktokCode, let message, let requestID):
            return Result(
                ok: false, status: state, code: tiktokCode, message: message, requestId: requestID,
                explanation: "TikTok rejected the access token (\(tiktokCode): \(message)). Generate a new one in Events Manager > pixel \(code) > Settings and set it with `pixel-edge pixels set \(pixel.id) --tiktok-access-token TOKEN`."
            )
        case .transient(.rateLimited, let tiktokCode, let message, let requestID, _):
            return Result(
                ok: false, status: .rateLimited, code: tiktokCode, message: message, requestId: requestID,
                explanation: "TikTok is rate-limiting this access token (\(tiktokCode.map(String.init) ?? "HTTP 429"): \(message)). Try again in a minute."
            )
        case .transient(let state, let tiktokCode, let message, let requestID, _):
            return Result(
                ok: false, status: state, code: tiktokCode, message: message, requestId: requestID,
                explanation: "TikTok's Events API could not be used at \(endpoint): \(message). Check the network and --tiktok-api-base, then try again."
            )
        case .eventsRejected(let tiktokCode, let message, let requestID):
            return Result(
                ok: false, status: .ok, code: tiktokCode, message: message, requestId: requestID,
                explanation: "TikTok refused the test event itself (\(tiktokCode): \(message)); the Pixel Code and token were not questioned."
            )
        }
    }
}
