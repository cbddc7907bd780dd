import Foundation
import HTTPTypes
import Testing

@testable import PixelEdgeApp
@testable import PixelEdgeHTTP
@testable import PixelEdgeAdministration
@testable import PixelEdgeCore
@testable import PixelEdgeTestSupport

/// A junk `If-Modified-Since` once cost 8 to 130 times a normal request (a DateFormatter per format per
/// call, over the whole value): four connections sending them pinned both cores. Conditional fields longer
/// than any valid value are now ignored before any parsing.
@Suite struct ConditionalHeaderCostTests {
    static let entityTag = #""pb-0123456789abcdef-gzip""#
    static let lastModified = Date(timeIntervalSince1970: 1_800_000_000)

    static func fields(_ pairs: [(String, String)]) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in pairs { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return fields
    }

    /// What a browser revalidating sends.
    static let normal = fields([("Accept-Encoding", "gzip, deflate, br"), ("If-Modified-Since", "Fri, 15 Jan 2027 08:00:00 GMT")])

    static let hostile: [(String, HTTPFields)] = [
        ("70 KB If-Modified-Since", fields([("Accept-Encoding", "gzip"), ("If-Modified-Since", String(repeating: "Sun, 06 Nov 1994 08:49:37 GMT ", count: 2300))])),
        ("a 40-byte junk If-Modified-Since", fields([("If-Modified-Since", String(repeating: "x", count: 40))])),
        ("70 KB If-None-Match", fields([("If-None-Match", String(repeating: #"W/"abcdefgh", "#, count: 5000))])),
        ("70 KB If-Match", fields([("If-Match", String(repeating: #""abcdefgh", "#, count: 5000))])),
    ]

    /// Reading the fields and deciding the answer, `count` times.
    static func cost(of fields: HTTPFields, count: Int = 2000) -> Duration {
        let clock = ContinuousClock()
        return clock.measure {
            for _ in 0..<count {
                let request = BundleRequest(method: .get, fields: fields)
                _ = request.condition(entityTag: Self.entityTag, lastModified: Self.lastModified)
            }
        }
    }

    @Test func validConditionsStillDecide() {
        #expect(BundleRequest(method: .get, fields: Self.normal).condition(entityTag: Self.entityTag, lastModified: Self.lastModified) == .notModified)
        let matching = Self.fields([("If-None-Match", #"W/"other", "pb-0123456789abcdef-gzip""#)])
        #expect(BundleRequest(method: .get, fields: matching).condition(entityTag: Self.entityTag, lastModified: Self.lastModified) == .notModified)
    }

    /// Repeated fields are one list (RFC 9110 §5.3): joined, they stop growing at the limit instead of being
    /// copied again for each one (2,000 fields were 2,000 copies of a growing string).
    @Test func repeatedFieldsStopGrowingAtTheLimit() {
        let repeated = Self.fields(Array(repeating: ("If-None-Match", #""pb-0123456789abcdef-br""#), count: 2000))
        let request = BundleRequest(method: .get, fields: repeated)
        #expect(request.ifNoneMatch == "", "over the limit: ignored")
        #expect(request.condition(entityTag: Self.entityTag, lastModified: Self.lastModified) == .proceed)
        let few = BundleRequest(method: .get, fields: Self.fields(Array(repeating: ("If-None-Match", #""pb-0123456789abcdef-gzip""#), count: 3)))
        #expect(few.condition(entityTag: Self.entityTag, lastModified: Self.lastModified) == .notModified)
    }

    @Test(arguments: Self.hostile.indices)
    func anOverlongConditionIsIgnoredAndCostsNoMoreThanAFewNormalOnes(index: Int) {
        let (name, fields) = Self.hostile[index]
        #expect(BundleRequest(method: .get, fields: fields).condition(entityTag: Self.entityTag, lastModified: Self.lastModified) == .proceed, "\(name)")
        // Alternated rounds, the best of each: what the work costs, not what the machine was doing.
        var normal: [Duration] = []
        var hostile: [Duration] = []
        for _ in 0..<5 {
            normal.append(Self.cost(of: Self.normal))
            hostile.append(Self.cost(of: fields))
        }
        let ratio = hostile.min()! / normal.min()!
        #expect(ratio < 5, "\(name): \(ratio) times a normal request's conditional fields")
    }
}
