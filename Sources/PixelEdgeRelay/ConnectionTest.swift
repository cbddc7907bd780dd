public import Foundation
public import PixelEdgeCore

/// Asks a destination whether it accepts a pixel's credentials, and says, in plain words, what it answered
/// and what to do about it. With a Test Event Code the question is one test event (it shows in the
/// platform's Test Events); without one, nothing is recorded as real traffic: TikTok gets a batch with no
/// event in it (it checks the token and the pixel before it looks at the events), Meta a read of the pixel
/// through the Graph API. Used by `pixel-edge pixels test` and `set`, and the admin API's `PUT` and
/// `POST …/test`.
public struct ConnectionTest: Sendable {
    let tiktok: EventsAPIClient
    let meta: ConversionsAPIClient

    public init(tiktok: EventsAPIClient, meta: ConversionsAPIClient) {
        self.tiktok = tiktok
        self.meta = meta
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
        /// Which destination answered: `tiktok` or `meta`.
        public let destination: String
    }

    /// The destinations a test of this pixel can ask, in the order they are asked: each configured with a
    /// token, enabled or not.
    public static func destinations(of pixel: PixelConfig) -> [DestinationID] {
        var destinations: [DestinationID] = []
        if pixel.tiktok?.accessToken != nil { destinations.append(.tiktok) }
        if pixel.meta?.accessToken != nil { destinations.append(.meta) }
        return destinations
    }

    public func run(for pixel: PixelConfig, destination: DestinationID = .tiktok, now: Date = Date()) async throws(ConfigurationError) -> Result {
        let event = CollectedEvent(
            pixel: pixel.id, event: "ViewContent", eventID: "pixeledge-test-\(UUID().uuidString.lowercased())",
            eventTime: Int64(now.timeIntervalSince1970), url: "https://pixeledge.invalid/connection-test", ip: "192.0.2.1",
            userAgent: "PixelEdge connection test"
        )
        switch destination {
        case .meta:
            guard let meta = pixel.meta else {
                throw ConfigurationError(field: "meta", message: "pixel \(pixel.id) has no Meta destination: set its Meta pixel ID and access token first")
            }
            guard let account = self.meta.anyAccount(of: pixel) else {
                throw ConfigurationError(field: "meta.accessToken", message: "pixel \(pixel.id) has no Meta access token: the Conversions API needs one")
            }
            let answer = account.testEventCode != nil
                ? await self.meta.send([MetaServerEvent.json(for: event)], to: account)
                : await self.meta.readPixel(account)
            return Self.explain(answer.outcome, destination: .meta, platformID: meta.pixelID.rawValue, testEvent: account.testEventCode != nil, endpoint: self.meta.endpoint)
        default:
            guard let tiktok = pixel.tiktok else {
                throw ConfigurationError(field: "tiktok", message: "pixel \(pixel.id) has no TikTok destination: set its Pixel Code and access token first")
            }
            guard let account = self.tiktok.anyAccount(of: pixel) else {
                throw ConfigurationError(field: "tiktok.accessToken", message: "pixel \(pixel.id) has no access token: the Events API needs one")
            }
            let data = account.testEventCode != nil ? [event.eventsAPIDataJSON()] : []
            let answer = await self.tiktok.send(data, to: account)
            return Self.explain(
                answer.outcome, destination: .tiktok, platformID: tiktok.pixelCode.rawValue, testEvent: account.testEventCode != nil, endpoint: self.tiktok.endpoint
            )
        }
    }

    /// `platformID`: the TikTok Pixel Code or the Meta pixel ID, as the platform's Events Manager shows it.
    static func explain(_ outcome: EventsAPIOutcome, destination: DestinationID, platformID id: String, testEvent: Bool, endpoint: String) -> Result {
        let platform = destination.displayName
        let credentials = destination.credentials(of: id)
        let testEvents = destination.testEventsPage(of: id)
        func result(ok: Bool, _ state: DeliveryStatus.State, _ code: Int?, _ message: String, _ requestID: String?, _ explanation: String) -> Result {
            Result(
                ok: ok, status: state, code: code, message: message, requestId: requestID, explanation: explanation, testEvent: testEvent,
                destination: destination.rawValue
            )
        }
        switch outcome {
        case .accepted(let requestID):
            let answer = requestID.map { " (\(destination.requestIDName) \($0))" } ?? ""
            return result(
                ok: true, .ok, 0, "OK", requestID,
                testEvent
                    ? "\(platform) accepted the test event\(answer). It appears in \(testEvents)."
                    : "\(platform) accepted \(credentials)\(answer). No event was sent: set a Test Event Code to see a test event in \(testEvents)."
            )
        case .pixelRejected(let state, let code, let message, let requestID):
            return result(
                ok: false, state, code, message, requestID,
                DeliveryStatus.explanation(of: state, code: code, message: message, destination: destination, pixelCode: id)
            )
        case .transient(.unreachable, let code, let message, let requestID, _):
            return result(
                ok: false, .unreachable, code, message, requestID,
                "\(platform)'s \(destination.serverAPIName) could not be used at \(endpoint): \(message). Check the network and \(destination.apiBaseOption), then try again."
            )
        case .transient(let state, let code, let message, let requestID, _):
            // Rate limits, maintenance, the platform's own errors and codes PixelEdge does not know: the
            // credentials were not judged, so the test is not passed.
            return result(
                ok: false, state, code, message, requestID,
                DeliveryStatus.explanation(of: state, code: code, message: message, destination: destination, pixelCode: id)
            )
        case .partiallyAccepted(_, let code, let message, let requestID), .eventsRejected(let code, let message, let requestID):
            return result(
                ok: true, .ok, code, message, requestID,
                testEvent
                    ? "\(platform) refused the test event itself (\(code): \(message)); \(credentials) were not questioned."
                    : "\(platform) accepted \(credentials); it refused only the empty batch of the check (\(code): \(message))."
            )
        }
    }
}

/// Runs the connection test and records each destination's answer as its delivery status, so that the
/// admin API, the console and `pixels show` say at once whether the platforms accept the pixel.
public struct PixelVerification: Sendable {
    let test: ConnectionTest
    let statuses: any DeliveryStatusStore

    public init(test: ConnectionTest, statuses: any DeliveryStatusStore) {
        self.test = test
        self.statuses = statuses
    }

    /// Whether saving this pixel calls for a verification: a destination, enabled or not, with a token.
    public static func applies(to pixel: PixelConfig) -> Bool {
        !ConnectionTest.destinations(of: pixel).isEmpty
    }

    /// Asks one destination.
    public func verify(_ pixel: PixelConfig, destination: DestinationID = .tiktok, now: Date) async throws -> ConnectionTest.Result {
        let result = try await self.test.run(for: pixel, destination: destination, now: now)
        let failure = result.ok ? nil : DeliveryStatus.Failure(code: result.code, message: result.message, requestID: result.requestId, at: now)
        try await self.statuses.recordVerification(
            of: DeliveryKey(pixel.id, destination), atVersion: pixel.version, state: result.status, requestID: result.requestId, failure: failure, now: now
        )
        return result
    }

    /// Asks every destination the pixel has a token for, at once.
    public func verifyAll(_ pixel: PixelConfig, now: Date) async throws -> [DestinationID: ConnectionTest.Result] {
        try await withThrowingTaskGroup(of: (DestinationID, ConnectionTest.Result).self) { group in
            for destination in ConnectionTest.destinations(of: pixel) {
                group.addTask { (destination, try await self.verify(pixel, destination: destination, now: now)) }
            }
            var results: [DestinationID: ConnectionTest.Result] = [:]
            for try await (destination, result) in group { results[destination] = result }
            return results
        }
    }
}
