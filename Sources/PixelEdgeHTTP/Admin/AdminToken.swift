import Crypto
public import Foundation
import PixelEdgeCore

/// The admin API's bearer token (`PIXELEDGE_ADMIN_TOKEN`). Only its digest is kept, and a presented token
/// is compared digest to digest: the comparison takes the same time wherever the bytes differ and
/// reveals nothing of the token's length.
public struct AdminToken: Sendable {
    private let digest: SHA256.Digest

    public static let environmentVariable = "PIXELEDGE_ADMIN_TOKEN"

    public init(_ token: String) {
        self.digest = SHA256.hash(data: Data(token.utf8))
    }

    /// The token from the environment; nil (admin API off) when unset or empty.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> AdminToken? {
        guard let value = environment[environmentVariable], !value.isEmpty else { return nil }
        return AdminToken(value)
    }

    /// Checks an `Authorization` field value of the form `Bearer <token>`.
    func authorizes(authorization: String?) -> Bool {
        guard let authorization else { return false }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return false }
        let presented = SHA256.hash(data: Data(parts[1].trimmingASCIIWhitespace().utf8))
        // swift-crypto compares digests in constant time.
        return presented == self.digest
    }
}
