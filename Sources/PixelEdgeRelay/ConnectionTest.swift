public import Foundation
public import PixelEdgeCore
import PixelEdgeMetrics

/// Asks TikTok whether it accepts a pixel's Pixel Code and access token, and says, in plain words, what it
/// answered and what to do about it. With a Test Event Code the question is one test event (it shows in
/// Events Manager > Test Events); without one, a batch with no event in it, so that nothing is recorded as
/// real traffic: TikTok checks the token and the pixel before it looks at the events. Used by
/// `pixel-edge pixels test` and `set`, and the admin API's `PUT` and `POST …/test`.
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
        /// Whether a test event was sent (with the Test Event Code), or only the credentials were checked.
        public let testEvent: Bool
    }

    public func run(for pixel: PixelConfig, now: Date = Date()) async throws(ConfigurationError) -> Result {
        guard let tiktok = pixel.tiktok else {
            throw ConfigurationError(field: "tiktok", message: "pixel \(pixel.id) has no TikTok destination: set its Pixel Code and access token first")
        }
        guard let token = tiktok.accessToken else {
            throw ConfigurationError(field: "tiktok.accessToken", message: "pixel \(pixel.id) has no access token: the Events API needs one")
        }
        var data: [String] = []
        if tiktok.testEventCode != nil {
            let event = CollectedEvent(
                pixel: pixel.id, event: "ViewContent", eventID: "pixeledge-test-\(UUID().uuidString.lowercased())",
                eventTime: Int64(now.timeIntervalSince1970), url: "https://pixeledge.invalid/connection-test", userAgent: "PixelEdge connection test"
            )
            data = [(try? event.eventsAPIDataJSON()) ?? "{}"]
        }
        let answer = await self.client.send(pixelCode: tiktok.pixelCode, accessToken: token, testEventCode: tiktok.testEventCode, data: data)
        return Self.explain(answer.outcome, pixel: pixel, endpoint: self.client.endpoint)
    }

    static func explain(_ outcome: EventsAPIOutcome, pixel: PixelConfig, endpoint: String) -> Result {
        let code = pixel.tiktok?.pixelCode.rawValue ?? "?"
        let testEvent = pixel.tiktok?.testEventCode != nil
        switch outcome {
        case .accepted(let requestID):
            let answer = requestID.map { " (request_id \($0))" } ?? ""
            return Result(
                ok: true, status: .ok, code: 0, message: "OK", requestId: requestID,
                explanation: testEvent
                    ? "TikTok accepted the test event\(answer). It appears in Events Manager > pixel \(code) > Test Events."
                    : "TikTok accepted the Pixel Code \(code) and the access token\(answer). No event was sent: set a Test Event Code to see a test event in Events Manager > Test Events.",
                testEvent: testEvent
            )
        case .pixelRejected(let state, let tiktokCode, let message, let requestID):
            return Result(
                ok: false, status: state, code: tiktokCode, message: message, requestId: requestID,
                explanation: DeliveryStatus.explanation(of: state, code: tiktokCode, message: message, pixelCode: code),
                testEvent: testEvent
            )
        case .transient(.unreachable, let tiktokCode, let message, let requestID, _):
            return Result(
                ok: false, status: .unreachable, code: tiktokCode, message: message, requestId: requestID,
                explanation: "TikTok's Events API could not be used at \(endpoint): \(message). Check the network and --tiktok-api-base, then try again.",
                testEvent: testEvent
            )
        case .transient(let state, let tiktokCode, let message, let requestID, _):
            // Rate limits, maintenance, TikTok's own errors and codes PixelEdge does not know: the
            // credentials were not judged, so the test is not passed.
            return Result(
                ok: false, status: state, code: tiktokCode, message: message, requestId: requestID,
                explanation: DeliveryStatus.explanation(of: state, code: tiktokCode, message: message, pixelCode: code),
                testEvent: testEvent
            )
        case .partiallyAccepted(_, let tiktokCode, let message, let requestID),
            .eventsRejected(let tiktokCode, let message, let requestID):
            return Result(
                ok: true, status: .ok, code: tiktokCode, message: message, requestId: requestID,
                explanation: testEvent
                    ? "TikTok refused the test event itself (\(tiktokCode): \(message)); the Pixel Code and token were not questioned."
                    : "TikTok accepted the Pixel Code \(code) and the access token; it refused only the empty batch of the check (\(tiktokCode): \(message)).",
                testEvent: testEvent
            )
        }
    }
}

/// Runs the connection test and records TikTok's answer as the pixel's delivery status, so that the admin
/// API, the console and `pixels show` say at once whether TikTok accepts the pixel.
public struct PixelVerification: Sendable {
    let test: ConnectionTest
    let statuses: any DeliveryStatusStore

    public init(test: ConnectionTest, statuses: any DeliveryStatusStore) {
        self.test = test
        self.statuses = statuses
    }

    /// Whether saving this pixel calls for a verification: TikTok, enabled or not, with a token.
    public static func applies(to pixel: PixelConfig) -> Bool {
        pixel.tiktok?.accessToken != nil
    }

    public func verify(_ pixel: PixelConfig, now: Date) async throws -> ConnectionTest.Result {
        let result = try await self.test.run(for: pixel, now: now)
        let failure = result.ok ? nil : DeliveryStatus.Failure(code: result.code, message: result.message, requestID: result.requestId, at: now)
        try await self.statuses.recordVerification(
            of: DeliveryKey(pixel.id, .tiktok), atVersion: pixel.version, state: result.status, requestID: result.requestId, failure: failure, now: now
        )
        return result
    }
}
