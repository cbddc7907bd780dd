import Foundation
import HTTPTypes
import Testing

@testable import PixelEdgeApp
@testable import PixelEdgeHTTP
@testable import PixelEdgeAdministration
@testable import PixelEdgeBundles
@testable import PixelEdgeCore
@testable import PixelEdgeMetrics
@testable import PixelEdgeRelay
@testable import PixelEdgeSQLite
@testable import PixelEdgeTestSupport

@Suite struct ContentCodingNegotiationTests {
    @Test(arguments: [
        ("gzip", ContentCoding.gzip),
        ("gzip, deflate, br, zstd", .brotli),
        ("deflate, gzip", .gzip),
        ("br;q=1.0, gzip;q=0.8, *;q=0.1", .brotli),
        ("br;q=0.5, gzip", .gzip),
        ("br", .brotli),
        ("BR", .brotli),
        ("br;q=0, gzip;q=0.1", .gzip),
        ("x-gzip", .gzip),
        ("GZIP", .gzip),
        ("*", .brotli),
        ("*;q=0.5, gzip", .gzip),
        ("deflate, *;q=0.5", .brotli),
        ("gzip;q=0", .identity),
        ("gzip;q=0.000, identity", .identity),
        ("zstd", .identity),
        ("", .identity),
        ("identity", .identity),
        ("gzip;q=0.5, identity;q=1", .identity),
        ("gzip;q=1, identity;q=0.5", .gzip),
        ("*;q=0, gzip", .gzip),
        ("identity;q=0, gzip", .gzip),
        ("gzip;q=abc, identity", .identity),
        ("gzip ; q=0.7", .gzip),
        ("gzip;q=1.0000, identity", .identity),
        ("gzip;q=.5, identity", .identity),
        ("gzip;q=0.001", .gzip),
        ("identity;q=0.5, gzip;q=0.4", .identity),
        // Found by FuzzAcceptEncoding: case folding once turned the CR into "-", reading x-gzip.
        ("x\rgzip", .identity),
    ] as [(String, ContentCoding)])
    func negotiates(_ header: String, _ expected: ContentCoding) {
        #expect(ContentCoding.negotiate(acceptEncoding: header) == expected)
    }

    @Test func withoutTheHeaderIdentityIsSent() {
        #expect(ContentCoding.negotiate(acceptEncoding: nil) == .identity)
    }

    @Test(arguments: ["identity;q=0", "*;q=0", "gzip;q=0, identity;q=0", "br;q=0, *;q=0", "zstd, *;q=0"])
    func refusingBothIsNotAcceptable(_ header: String) {
        #expect(ContentCoding.negotiate(acceptEncoding: header) == nil)
    }
}

@Suite struct EntityTagListTests {
    @Test func parsesListsWeakTagsAndCommasInsideTags() {
        let list = EntityTagList(#"W/"a", "b,c" ,"d""#)
        #expect(list.tags.map(\.opaque) == [#""a""#, #""b,c""#, #""d""#])
        #expect(list.tags.map(\.isWeak) == [true, false, false])
        #expect(list.matchesWeakly(#""a""#))
        #expect(!list.matchesStrongly(#""a""#))
        #expect(list.matchesStrongly(#""b,c""#))
        #expect(!list.matchesWeakly(#""b""#))
    }

    @Test func wildcardMatchesAnything() {
        #expect(EntityTagList(" * ").matchesWeakly(#""x""#))
    }

    @Test func malformedMembersEndTheList() {
        let list = EntityTagList(#""a", b, "c""#)
        #expect(list.tags.map(\.opaque) == [#""a""#])
        #expect(EntityTagList("unquoted").tags.isEmpty)
    }
}

@Suite struct ConditionalRequestTests {
    let lastModified = Date(timeIntervalSince1970: 1_700_000_000)
    let tag = #""abc""#

    func evaluate(_ fields: HTTPFields) -> BundleRequest.Condition {
        BundleRequest(method: .get, fields: fields).condition(entityTag: self.tag, lastModified: self.lastModified)
    }

    @Test func repeatedFieldsFormOneList() {
        #expect(self.evaluate(HTTPFields([HTTPField(name: .ifNoneMatch, value: #""x""#), HTTPField(name: .ifNoneMatch, value: #""abc""#)])) == .notModified)
    }

    @Test func ifNoneMatch() {
        #expect(self.evaluate([.ifNoneMatch: #""abc""#]) == .notModified)
        #expect(self.evaluate([.ifNoneMatch: #"W/"abc""#]) == .notModified)
        #expect(self.evaluate([.ifNoneMatch: #""x", "abc""#]) == .notModified)
        #expect(self.evaluate([.ifNoneMatch: "*"]) == .notModified)
        #expect(self.evaluate([.ifNoneMatch: #""x""#]) == .proceed)
    }

    @Test func ifNoneMatchOverridesIfModifiedSince() {
        #expect(self.evaluate([.ifNoneMatch: #""x""#, .ifModifiedSince: "Tue, 14 Nov 2023 22:13:20 GMT"]) == .proceed)
    }

    @Test func ifModifiedSinceInAllThreeDateFormats() {
        #expect(self.evaluate([.ifModifiedSince: "Tue, 14 Nov 2023 22:13:20 GMT"]) == .notModified)
        #expect(self.evaluate([.ifModifiedSince: "Tuesday, 14-Nov-23 22:13:20 GMT"]) == .notModified)
        #expect(self.evaluate([.ifModifiedSince: "Tue Nov 14 22:13:20 2023"]) == .notModified)
        #expect(self.evaluate([.ifModifiedSince: "Tue, 14 Nov 2023 22:13:19 GMT"]) == .proceed)
        #expect(self.evaluate([.ifModifiedSince: "not a date"]) == .proceed)
    }

    @Test func ifMatchAndIfUnmodifiedSince() {
        #expect(self.evaluate([.ifMatch: #""abc""#]) == .proceed)
        #expect(self.evaluate([.ifMatch: #"W/"abc""#]) == .preconditionFailed)
        #expect(self.evaluate([.ifMatch: #""x""#]) == .preconditionFailed)
        #expect(self.evaluate([.ifUnmodifiedSince: "Tue, 14 Nov 2023 22:13:19 GMT"]) == .preconditionFailed)
        #expect(self.evaluate([.ifUnmodifiedSince: "Tue, 14 Nov 2023 22:13:20 GMT"]) == .proceed)
    }
}

@Suite struct BundleRequestTargetTests {
    @Test func recognisesBothURLs() {
        #expect(BundleRequestTarget(path: "/p/abc-1234/pb.js", query: nil) == .pixel("abc-1234"))
        #expect(BundleRequestTarget(path: "/pb.js", query: "v=2&id=abc") == .pixel("abc"))
        #expect(BundleRequestTarget(path: "/pb.js", query: "id=%61bc") == .pixel("abc"))
        #expect(BundleRequestTarget(path: "/pb.js", query: "x=1") == .missingID)
        #expect(BundleRequestTarget(path: "/pb.js", query: nil) == .missingID)
        #expect(BundleRequestTarget(path: "/p/a/b/pb.js", query: nil) == .pixel("a/b"))
        #expect(BundleRequestTarget(path: "/p/abc/other.js", query: nil) == nil)
        #expect(BundleRequestTarget(path: "/index.html", query: nil) == nil)
    }

    /// The head reader's reading on bytes answers for every `/p/{id}/pb.js` with a valid id, and only where
    /// the string reading (what Hummingbird's path and the fast path after the decoder use) finds that pixel.
    @Test(arguments: [
        "/p/abc-1234/pb.js", "/p/abc/pb.js?v=2", "/p/a/pb.js", "/p/\(String(repeating: "x", count: 64))/pb.js",
        "/p/\(String(repeating: "x", count: 65))/pb.js", "/p//pb.js", "/p/a/b/pb.js", "/p/ABC/pb.js", "/p/%61bc/pb.js",
        "/pb.js?id=abc", "/p/abc/pb.jsx", "/p/pb.js", "/p/abc/pb.js/", "/p/abc/xpb.js", "/xp/abc/pb.js", "/p/abc/pb.js?",
        "/p/abc?/pb.js", "/", "",
    ])
    func readsTheBundlePathOnBytesAsTheStringReadingDoes(target: String) {
        #expect(Self.byBytes(target) == Self.byString(target), "\(target)")
    }

    /// The same, over 20,000 targets put together from the pieces that matter, seeded so that a failure repeats.
    @Test func readsGeneratedTargetsOnBytesAsTheStringReadingDoes() {
        let starts = ["/p/", "/p/", "/p", "/", "", "/pb.js?id=", "/x/", "p/"]
        let pieces = ["a", "z9", "-", "_", "A", "%61", " ", "/", "?", "é", "..", "p", "pb.js", ""]
        let ends = ["/pb.js", "/pb.js", "/pb.js?v=2", "/pb.js?", "/pb.js?id=b", "pb.js", "/pb.jsx", "/pb.js/", "/pb", ""]
        var random = SplitMix64(seed: 22)
        var answered = 0
        for _ in 0..<20_000 {
            let middle = (0..<Int.random(in: 0...4, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            let target = starts.randomElement(using: &random)! + middle + ends.randomElement(using: &random)!
            let expected = Self.byString(target)
            #expect(Self.byBytes(target) == expected, "\(target)")
            if expected != nil { answered += 1 }
        }
        #expect(answered > 200, "the generated targets include bundle paths")
    }

    static func byBytes(_ target: String) -> PixelID? {
        var bytes = target
        return bytes.withUTF8 { BundleRequestTarget.pixelOfBundlePath(UnsafeRawBufferPointer($0)) }
    }

    /// What the string reading finds for a target of the `/p/{id}/pb.js` form (nil for the legacy form).
    static func byString(_ target: String) -> PixelID? {
        let queryStart = target.firstIndex(of: "?")
        let reading = BundleRequestTarget(path: target[..<(queryStart ?? target.endIndex)], query: queryStart.map { target[target.index(after: $0)...] })
        guard case .pixel(let id) = reading, target.hasPrefix("/p/") else { return nil }
        return PixelID(id)
    }
}
