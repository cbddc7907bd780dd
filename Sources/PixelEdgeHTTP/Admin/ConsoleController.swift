import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The operator console: a page and its script and style from `Public/admin/`, served at `/admin/` only
/// when the admin API is on. The page holds no secret (the operator types the admin token into it and it
/// calls the API with it), so it is served without the token; the API it calls needs it.
///
/// The files are read once, at start: a fixed set of names, so no request path reaches the file system.
struct ConsoleController<Context: RequestContext> {
    struct File: Sendable {
        let body: ByteBuffer
        let contentType: String
    }

    static var fileTypes: [String: String] {
        [
            "index.html": "text/html; charset=utf-8",
            "console.js": "text/javascript; charset=utf-8",
            "console.css": "text/css; charset=utf-8",
        ]
    }

    /// Nothing from another host, no inline script or style, never framed: what the console's own files
    /// and its calls to the admin API need, and no more.
    static var contentSecurityPolicy: String {
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            + "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    }

    let files: [String: File]

    /// Reads the console's files from `directory`; a missing one is logged, and its path answers 404.
    init(directory: String, logger: Logger) {
        var files: [String: File] = [:]
        for (name, contentType) in Self.fileTypes {
            let path = URL(fileURLWithPath: directory).appendingPathComponent(name).path
            guard let data = FileManager.default.contents(atPath: path) else {
                logger.warning("the console's file is missing: /admin/ will not work", metadata: ["path": "\(path)"])
                continue
            }
            files[name] = File(body: ByteBuffer(bytes: data), contentType: contentType)
        }
        self.files = files
    }

    func addRoutes(to router: Router<Context>) {
        // The router treats `/admin` and `/admin/` as one path: both are the page (its links are absolute).
        for (path, name) in [("admin", "index.html"), ("admin/console.js", "console.js"), ("admin/console.css", "console.css")] {
            router.get(RouterPath(path)) { _, _ in try self.respond(name) }
            router.head(RouterPath(path)) { _, _ in
                var response = try self.respond(name)
                response.body = .init()
                return response
            }
        }
    }

    private func respond(_ name: String) throws -> Response {
        guard let file = self.files[name] else {
            throw APIError(.notFound, "the console's \(name) was not found in the public directory's admin/ folder")
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: file.contentType,
                .contentLength: String(file.body.readableBytes),
                .contentSecurityPolicy: Self.contentSecurityPolicy,
                .xContentTypeOptions: "nosniff",
                // Always the version this server has: the script and the API it calls go together.
                .cacheControl: "no-cache",
            ],
            body: .init(byteBuffer: file.body)
        )
    }
}
