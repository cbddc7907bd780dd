import HTTPTypes
import Hummingbird
import PixelEdgeCore

/// Serves `Public/` (through Hummingbird's `FileMiddleware`) where no route answers, except the console's
/// `admin/` folder, and the stand-ins for TikTok's and Meta's SDKs (`events-stub.js`, `fbevents-stub.js` and its
/// `fbevents-config.js`, for the demo pages and the tests)
/// unless the server runs with `--demo`; it marks every response `X-Content-Type-Options: nosniff`, so
/// that a browser never reads one as another type.
///
/// A path whose decoded form holds a control character is refused (400) before any file is looked up:
/// the file system stops at a NUL, so `/demo.js%00.html` would read `demo.js` and serve it as HTML.
struct PublicFilesMiddleware<Context: RequestContext, Provider: FileProvider>: RouterMiddleware where Provider.FileAttributes: FileMiddlewareFileAttributes {
    let files: FileMiddleware<Context, Provider>
    /// With `--demo`: the demo's own files that are no part of a production web root are served too.
    let servesDemoFiles: Bool

    /// Files of `Public/` served only with `--demo`: a stand-in for TikTok's SDK has no place on a
    /// production edge, where a site could load it by mistake instead of TikTok's.
    /// (A switch: a generic type has no stored static, and a computed `Set` was built for every request.)
    static func isDemoFile(_ path: String) -> Bool {
        switch path {
        case "/events-stub.js", "/fbevents-stub.js", "/fbevents-config.js": true
        default: false
        }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Most paths (`/collect`, the routes) are plain: decoded, themselves, and canonical. Checked on their
        // bytes first, since this runs before every route.
        let isPlain = Self.isPlain(request.uri.path)
        let path = isPlain ? request.uri.path : request.uri.path.removingPercentEncodingLeniently()
        if !isPlain, path.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            throw APIError(.badRequest, field: "path", "the path holds a control character")
        }
        // `Public/admin/` is the console's: served by its own routes (with their security headers) when the
        // admin API is on, and never as a plain file.
        if path == "/admin" || path.hasPrefix("/admin/") {
            return try await next(request, context)
        }
        if !self.servesDemoFiles, Self.isDemoFile(path) {
            return try await next(request, context)
        }
        // Only canonical paths reach the files: `//admin/index.html`, `/./admin/…` and `/%2Fadmin/…` name the
        // console's files to the file system (outside the routes and their CSP), and a directory's redirect
        // from `//admin` would be `Location: //admin/`, a protocol-relative URL to the host "admin".
        guard isPlain || Self.isCanonical(request.uri.path, decoded: path) else {
            // The console's routes answer only their own spelling, too.
            if Self.namesTheConsole(path) { throw APIError(.notFound, "no such file") }
            return try await next(request, context)
        }
        var response = try await self.files.handle(request, context: context, next: next)
        response.headers[.xContentTypeOptions] = "nosniff"
        // Never a Location that leaves this origin, whatever a file provider makes of a path.
        if let location = response.headers[.location], !Self.isSameOriginPath(location) {
            throw APIError(.notFound, "no such file")
        }
        return response
    }

    /// Letters, digits, `-`, `_`, `.`, `~` and `/` only (no escape, no control character), starting with `/`,
    /// without an empty segment but the last, nor a `.` or `..` segment: what `isCanonical` accepts and
    /// decoding leaves as it is.
    static func isPlain(_ path: String) -> Bool {
        let bytes = path.utf8
        guard bytes.first == UInt8(ascii: "/") else { return false }
        var segmentLength = 0
        var segmentDots = 0
        for byte in bytes.dropFirst() {
            switch byte {
            case UInt8(ascii: "/"):
                // An empty segment, `.` or `..`.
                if segmentLength == 0 || segmentDots == segmentLength && segmentLength <= 2 { return false }
                segmentLength = 0
                segmentDots = 0
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "~"):
                segmentLength += 1
            case UInt8(ascii: "."):
                segmentLength += 1
                segmentDots += 1
            default:
                return false
            }
        }
        // The last segment may be empty (`/`, `/dir/`), never `.` or `..`.
        return !(segmentLength > 0 && segmentDots == segmentLength && segmentLength <= 2)
    }

    /// A path without empty, `.` or `..` segments, and no `/` or `\` that was percent-encoded.
    static func isCanonical(_ raw: String, decoded: String) -> Bool {
        let lowered = raw.lowercased()
        if lowered.contains("%2f") || lowered.contains("%5c") || decoded.contains("\\") { return false }
        let segments = decoded.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        // The last segment may be empty: `/` and a directory's `/dir/`.
        return !segments.dropLast().contains { $0.isEmpty || $0 == "." || $0 == ".." } && !(segments.last.map { $0 == "." || $0 == ".." } ?? false)
    }

    /// Whether a path's first real segment (empty and `.` ones skipped, `\\` read as `/`) is `admin`.
    static func namesTheConsole(_ decoded: String) -> Bool {
        let segments = decoded.split(whereSeparator: { $0 == "/" || $0 == "\\" }).drop { $0 == "." }
        return segments.first == "admin" || segments.first == ".."
    }

    /// `/…`, never `//…` (another host) or a scheme.
    static func isSameOriginPath(_ location: String) -> Bool {
        location.hasPrefix("/") && !location.hasPrefix("//") && !location.hasPrefix("/\\")
    }
}
