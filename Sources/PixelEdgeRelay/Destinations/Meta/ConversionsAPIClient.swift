public import AsyncHTTPClient
public import NIOCore
import NIOHTTP1
public import PixelEdgeCore

/// Posts batches to Meta's Conversions API, `POST {base}/{version}/{pixel ID}/events` (reference meta.md
/// section 9), with the pixel's access token.
///
/// The token travels as an OAuth 2.0 bearer token (`Authorization: Bearer`, RFC 6750 section 2.1, which
/// the Graph API takes beside its `access_token` parameter): the URL, which messages and logs name, never
/// holds it. The body is JSON, as stape-io's Conversions API tag sends it.
public struct ConversionsAPIClient: DestinationAPI {
    public let base: String
    /// The Graph API version in the path (`v26.0`): Meta keeps a version for two years or more, so it is a
    /// setting (`--meta-api-version`), not a constant to edit when Meta moves on.
    public let version: MetaAPIVersion
    let exchange: APIExchange

    public static let metaBase = "https://graph.facebook.com"
    public static let destination = DestinationID.meta
    /// Meta's limit on `data` (meta.md section 9).
    public static let maximumBatchSize = 1000

    /// A pixel's Meta account: its pixel (dataset) ID, token and Test Event Code.
    public struct Account: Sendable {
        public let pixelID: MetaPixelID
        public let accessToken: MetaAccessToken
        public let testEventCode: MetaTestEventCode?
    }

    public init(base: String = Self.metaBase, version: MetaAPIVersion = .default, httpClient: HTTPClient = .shared, timeout: TimeAmount = .seconds(10)) {
        self.init(base: base, version: version, exchange: APIExchange(httpClient: { httpClient }, timeout: timeout))
    }

    /// A client on the relay's own connections (a server's).
    public init(base: String = Self.metaBase, version: MetaAPIVersion = .default, connections: EventsAPIConnections, timeout: TimeAmount = .seconds(10)) {
        self.init(base: base, version: version, exchange: APIExchange(httpClient: { connections.httpClient }, timeout: timeout))
    }

    private init(base: String, version: MetaAPIVersion, exchange: APIExchange) {
        self.base = base.hasSuffix("/") ? String(base.dropLast()) : base
        self.version = version
        self.exchange = exchange
    }

    public var timeout: Duration { self.exchange.duration }

    /// The endpoint's shape, for messages: `{base}/{version}/{pixel}/events`.
    public var endpoint: String { "\(self.base)/\(self.version)/{pixel}/events" }

    func endpoint(for pixelID: MetaPixelID) -> String { "\(self.base)/\(self.version)/\(pixelID)/events" }

    public func account(of pixel: PixelConfig) -> Account? {
        guard let meta = pixel.activeMeta, let token = meta.accessToken else { return nil }
        return Account(pixelID: meta.pixelID, accessToken: token, testEventCode: meta.testEventCode)
    }

    /// The account whatever the enabled flag says: the connection test checks a disabled destination too.
    public func anyAccount(of pixel: PixelConfig) -> Account? {
        guard let meta = pixel.meta, let token = meta.accessToken else { return nil }
        return Account(pixelID: meta.pixelID, accessToken: token, testEventCode: meta.testEventCode)
    }

    public func hasTestCode(_ account: Account) -> Bool { account.testEventCode != nil }

    /// The body of a batch: `data` elements are the outbox's stored JSON, spliced in unchanged.
    static func body(testEventCode: MetaTestEventCode?, data: [String]) -> String {
        // TEST followed by digits: nothing to escape.
        let head = testEventCode.map { #"{"test_event_code":"\#($0.rawValue)","# } ?? "{"
        return head + #""data":["# + data.joined(separator: ",") + "]}"
    }

    public func send(_ data: [String], to account: Account) async -> EventsAPIAnswer {
        await self.exchange.send(
            self.endpoint(for: account.pixelID), headers: [("Authorization", "Bearer " + account.accessToken.secret)],
            body: Self.body(testEventCode: account.testEventCode, data: data),
            classify: { status, headers, body in
                ConversionsAPIAnswer.classify(status: Int(status.code), retryAfter: headers.first(name: "Retry-After"), body: body.readableBytesView)
            }
        )
    }

    /// Reads the pixel through the Graph API (`GET {base}/{version}/{pixel}?fields=id`): the connection
    /// test's question when there is no Test Event Code, which records nothing at Meta. Meta answers the
    /// pixel's id when the token may use it, and the errors of the events' table otherwise (190, 100 with
    /// subcode 33 for a pixel that does not exist or is not the token's, 10 and 200-299 for permissions).
    public func readPixel(_ account: Account) async -> EventsAPIAnswer {
        await self.exchange.send(
            "\(self.base)/\(self.version)/\(account.pixelID)?fields=id", headers: [("Authorization", "Bearer " + account.accessToken.secret)],
            body: nil,
            classify: { status, headers, body in
                ConversionsAPIAnswer.classifyRead(status: Int(status.code), retryAfter: headers.first(name: "Retry-After"), body: body.readableBytesView)
            }
        )
    }
}

/// A Graph API version as its URLs write it: `v` and two numbers, `v26.0` (meta.md section 9).
public struct MetaAPIVersion: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String

    /// The newest version Meta's changelog listed when this was written (v26.0, 29 July 2026); Meta
    /// keeps versions for two years or more.
    public static let `default` = MetaAPIVersion(unchecked: "v26.0")

    public init(_ text: String) throws(ConfigurationError) {
        let parts = text.dropFirst().split(separator: ".", omittingEmptySubsequences: false)
        guard text.first == "v", parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy { $0.isASCII && $0.isNumber } }) else {
            throw ConfigurationError(field: "meta-api-version", message: "must be a Graph API version such as v26.0 (a v and two numbers), not \"\(text.prefix(40))\"")
        }
        self.rawValue = text
    }

    init(unchecked rawValue: String) {
        self.rawValue = rawValue
    }

    public var description: String { self.rawValue }
}
