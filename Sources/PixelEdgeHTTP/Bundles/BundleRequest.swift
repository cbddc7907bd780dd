import Foundation
import HTTPTypes
import PixelEdgeBundles
import PixelEdgeCore

/// What a GET or HEAD of a bundle asks besides the bundle: the fields that decide its answer, gathered
/// by the fast path in its one pass over the decoder's fields, or by Hummingbird's path from `HTTPFields`.
/// Repeated fields form one list (RFC 9110 §5.3).
struct BundleRequest {
    var isHead: Bool
    var acceptEncoding = ContentCoding.Weights()
    var hasAcceptEncoding = false
    var ifNoneMatch: String?
    var ifMatch: String?
    var ifModifiedSince: String?
    var ifUnmodifiedSince: String?

    init(isHead: Bool) {
        self.isHead = isHead
    }

    /// The request as Hummingbird's path has it.
    init(method: HTTPRequest.Method, fields: HTTPFields) {
        self.init(isHead: method == .head)
        for field in fields {
            self.read(RequestField(field.name.rawName), value: field.value)
        }
    }

    mutating func read(_ field: RequestField, value: String) {
        switch field {
        case .acceptEncoding:
            self.hasAcceptEncoding = true
            self.acceptEncoding.read(value)
        case .ifNoneMatch: Self.append(value, to: &self.ifNoneMatch)
        case .ifMatch: Self.append(value, to: &self.ifMatch)
        case .ifModifiedSince: self.ifModifiedSince = self.ifModifiedSince ?? value
        case .ifUnmodifiedSince: self.ifUnmodifiedSince = self.ifUnmodifiedSince ?? value
        default: break
        }
    }

    /// The longest `If-None-Match` or `If-Match` read, in bytes, repeated fields together: far past any list
    /// of this server's ETags (60 of them). A longer one is ignored, unparsed (the answer is then the full
    /// bundle, as without it): an attacker's 70 KB of them, or thousands of repeated fields joined one by
    /// one, would otherwise cost many times a request.
    static let maximumListLength = 4096

    private static func append(_ value: String, to list: inout String?) {
        guard list?.isEmpty != true else { return }  // "" marks a list already over the limit
        let length = (list?.utf8.count ?? -2) + 2 + value.utf8.count
        list = length > Self.maximumListLength ? "" : list.map { $0 + ", " + value } ?? value
    }

    /// The content coding of the answer; nil when `Accept-Encoding` refuses them all.
    var coding: ContentCoding? {
        self.hasAcceptEncoding ? self.acceptEncoding.choice : .identity
    }

    enum Condition: Equatable {
        case proceed
        case notModified
        case preconditionFailed
    }

    /// The conditional fields, evaluated in the order RFC 9110 §13.2.2 gives, against one representation.
    func condition(entityTag: String, lastModified: Date) -> Condition {
        if let ifMatch = self.ifMatch, !ifMatch.isEmpty {
            if !EntityTagList(ifMatch).matchesStrongly(entityTag) { return .preconditionFailed }
        } else if let ifUnmodifiedSince = self.ifUnmodifiedSince.flatMap(HTTPDate.parse), lastModified > ifUnmodifiedSince {
            return .preconditionFailed
        }
        if let ifNoneMatch = self.ifNoneMatch, !ifNoneMatch.isEmpty {
            // What a browser or a CDN sends back is the one tag it was given, byte for byte: that matches
            // without reading the field as a list, a third of a revalidation's own work.
            if ifNoneMatch == entityTag { return .notModified }
            return EntityTagList(ifNoneMatch).matchesWeakly(entityTag) ? .notModified : .proceed
        }
        // Only without If-None-Match: an ETag is the more precise validator.
        if let ifModifiedSince = self.ifModifiedSince.flatMap(HTTPDate.parse), lastModified <= ifModifiedSince {
            return .notModified
        }
        return .proceed
    }
}

/// The answer to a bundle request: one decision for both paths, so that a rule changes in one place.
/// The encoding follows RFC 9110 §12.5.3 (`ContentCoding`), the conditions §13.2.2.
enum BundleAnswer {
    case ok(BundleRepresentation)
    case notModified(BundleRepresentation)
    case preconditionFailed(BundleRepresentation)
    /// `Accept-Encoding` refuses every representation.
    case notAcceptable
    /// The compression the request takes is not made yet (a bundle rendered for a request that took the
    /// other one): the fast path leaves it to Hummingbird's, which makes it off the event loops.
    case unprepared(ContentCoding)

    init(to request: BundleRequest, for bundle: PreparedBundle) {
        guard let coding = request.coding else {
            self = .notAcceptable
            return
        }
        guard let representation = bundle.representation(coding) else {
            self = .unprepared(coding)
            return
        }
        switch request.condition(entityTag: representation.entityTag, lastModified: bundle.lastModified) {
        case .proceed: self = .ok(representation)
        case .notModified: self = .notModified(representation)
        case .preconditionFailed: self = .preconditionFailed(representation)
        }
    }
}
