public import HTTPTypes
public import Hummingbird
public import PixelEdgeAdministration
public import PixelEdgeCore
public import PixelEdgeRelay

// Each domain error answers for itself: its status and its `APIError` body, in one place, so that no
// controller maps errors of its own and the domain types carry no HTTP.

extension ConfigurationError: HTTPResponseError {
    public var status: HTTPResponse.Status { .badRequest }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        try APIError(.badRequest, field: self.field, self.message).response(from: request, context: context)
    }
}

extension PixelNotFound: HTTPResponseError {
    public var status: HTTPResponse.Status { .notFound }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        try APIError(.notFound, field: "id", self.message).response(from: request, context: context)
    }
}

extension CollectError: HTTPResponseError {
    public var status: HTTPResponse.Status {
        switch self.reason {
        case .invalid: .badRequest
        case .unknownPixel: .notFound
        case .consentRequired: .forbidden
        case .unavailable: .serviceUnavailable
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let headers: HTTPFields = self.retryAfter.map { [.retryAfter: String($0)] } ?? [:]
        return try APIError(self.status, field: self.field, self.message, headers: headers).response(from: request, context: context)
    }
}

extension AdmissionRefusal: HTTPResponseError {
    public var status: HTTPResponse.Status { .tooManyRequests }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        try APIError(.tooManyRequests, self.message, headers: [.retryAfter: String(self.retryAfterSeconds)]).response(from: request, context: context)
    }
}

extension StoreError: HTTPResponseError {
    /// The request may work later, or on another node.
    public var status: HTTPResponse.Status { .serviceUnavailable }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        try APIError(.serviceUnavailable, "the store cannot do this now (\(self.reason.rawValue)): try again later", headers: [.retryAfter: "30"])
            .response(from: request, context: context)
    }
}
