import Foundation
import HTTPTypes
import PixelEdgeCore

/// Evaluates the conditional request headers of a `GET`/`HEAD` in the order RFC 9110 §13.2.2 gives.
enum ConditionalRequest {
    enum Outcome: Equatable {
        case proceed
        case notModified
        case preconditionFailed
    }

    static func evaluate(headers: HTTPFields, entityTag: String, lastModified: Date) -> Outcome {
        if let ifMatch = headers[values: .ifMatch].joinedFieldValue {
            if !EntityTagList(ifMatch).matchesStrongly(entityTag) { return .preconditionFailed }
        } else if let ifUnmodifiedSince = headers[.ifUnmodifiedSince], let date = HTTPDate.parse(ifUnmodifiedSince) {
            if lastModified > date { return .preconditionFailed }
        }
        if let ifNoneMatch = headers[values: .ifNoneMatch].joinedFieldValue {
            return EntityTagList(ifNoneMatch).matchesWeakly(entityTag) ? .notModified : .proceed
        }
        // Only without If-None-Match: an ETag is the more precise validator.
        if let ifModifiedSince = headers[.ifModifiedSince], let date = HTTPDate.parse(ifModifiedSince), lastModified <= date {
            return .notModified
        }
        return .proceed
    }
}
