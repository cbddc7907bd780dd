import Testing

@testable import PixelEdgeCore

/// `RequestHeadScanner` reads plain heads and leaves everything else to NIO's parser. (That the two read
/// every plain head alike is `RequestHeadAgreementTests` and the fuzz target `FuzzRequestHead`.)
@Suite struct RequestHeadScannerTests {
    struct Scanned: Equatable {
        var outcome: RequestHeadScanner.Outcome
        var target = ""
        var fields: [String] = []
    }

    func scan(_ text: String) -> Scanned {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBytes { buffer in
            let bytes = UnsafeRawBufferPointer(buffer)
            var fields: [String] = []
            let outcome = RequestHeadScanner.scan(bytes) { _, name, value in
                fields.append(String(decoding: name, as: UTF8.self) + "=" + String(decoding: value, as: UTF8.self))
            }
            guard case .head(let head) = outcome else { return Scanned(outcome: outcome) }
            return Scanned(outcome: outcome, target: String(decoding: UnsafeRawBufferPointer(rebasing: bytes[head.target]), as: UTF8.self), fields: fields)
        }
    }

    func head(_ text: String) throws -> RequestHeadScanner.Head {
        guard case .head(let head) = self.scan(text).outcome else {
            Issue.record("not read: \(text.debugDescription)")
            throw CancellationError()
        }
        return head
    }

    @Test func readsABrowsersHead() throws {
        let text = "GET /p/shop/pb.js HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n"
            + "Accept: */*\r\nAccept-Encoding: gzip, deflate, br\r\nIf-None-Match: \"g-1\", W/\"b-2\"\r\nConnection: keep-alive\r\n\r\n"
        let scanned = self.scan(text + "GET /next")
        #expect(scanned.target == "/p/shop/pb.js")
        #expect(scanned.fields == [
            "Host=shop.example", "User-Agent=Mozilla/5.0 (X11; Linux x86_64)", "Accept=*/*", "Accept-Encoding=gzip, deflate, br",
            "If-None-Match=\"g-1\", W/\"b-2\"", "Connection=keep-alive",
        ])
        let head = try self.head(text)
        #expect(head.length == text.utf8.count, "the head ends at its empty line, whatever follows")
        #expect(head.method == .get)
        #expect(head.isPlainHTTP11Request)
    }

    @Test func tellsWhatDecidesTheRequestsPath() throws {
        #expect(try self.head("HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n").method == .head)
        #expect(try self.head("OPTIONS /x HTTP/1.1\r\nHost: a\r\n\r\n").method == .other)
        #expect(try !self.head("GET /x HTTP/1.0\r\nHost: a\r\n\r\n").isPlainHTTP11Request)
        #expect(try !self.head("GET /x HTTP/1.1\r\n\r\n").isPlainHTTP11Request, "no Host")
        #expect(try !self.head("GET /x HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n").isPlainHTTP11Request, "two Hosts")
        #expect(try !self.head("GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").isPlainHTTP11Request)
        #expect(try !self.head("GET /x HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n\r\n").isPlainHTTP11Request)
        #expect(try self.head("GET /x HTTP/1.1\r\nHost: a\r\nconnection: Keep-Alive\r\n\r\n").isPlainHTTP11Request)
        // A body, or something other than HTTP after the head: the decoder's, from the field's name on.
        for field in ["content-length: 2", "Content-Length: G", "Transfer-Encoding: chunked", "Upgrade: websocket", "Expect: 100-continue"] {
            #expect(self.scan("POST /collect HTTP/1.1\r\nHost: a\r\n\(field)\r\n\r\n{}").outcome == .notPlain)
            #expect(self.scan("POST /collect HTTP/1.1\r\nHost: a\r\n\(field.prefix { $0 != ":" }):").outcome == .notPlain)
        }
        // What follows a request is another only on a connection kept open.
        #expect(try self.head("GET /x HTTP/1.1\r\nHost: a\r\n\r\n").isWholeRequest)
        #expect(try self.head("OPTIONS /collect HTTP/1.1\r\nHost: a\r\n\r\n").isWholeRequest)
        #expect(try !self.head("GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").isWholeRequest)
        #expect(try !self.head("GET /x HTTP/1.0\r\nHost: a\r\n\r\n").isWholeRequest)
        #expect(try self.head("GET /x HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n").isWholeRequest)

    }

    @Test(arguments: [
        "GET /x HTTP/1.1\r\nHost: a\r\n",
        "GET /x HTTP/1.1\r\nHost: a\r",
        "GET /x HTTP/1.1\r\nHo",
        "GET /x HTTP/1.",
        "GET /x",
        "GE",
        "",
    ])
    func aPlainHeadCutShortIsIncomplete(_ text: String) {
        #expect(self.scan(text).outcome == .incomplete)
    }

    @Test(arguments: [
        "\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n",  // an empty line first: llhttp skips it, this scanner does not
        "GET  /x HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /x  HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET http://a/x HTTP/1.1\r\nHost: a\r\n\r\n",  // absolute-form
        "GET * HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /x#frag HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /x\"<> HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /\u{e9} HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /x HTTP/1.2\r\nHost: a\r\n\r\n",
        "GET /x HTTP/2.0\r\nHost: a\r\n\r\n",
        "GET /x http/1.1\r\nHost: a\r\n\r\n",
        "GET /x HTTP/1.1\nHost: a\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: a\n\r\n",
        "GET /x HTTP/1.1\r\nHost: a\r\n\n",
        "GET /x HTTP/1.1\r\nHost: a\rX: b\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost : a\r\n\r\n",
        "GET /x HTTP/1.1\r\n Host: a\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: a \r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: a\t\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: a\u{0}b\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: caf\u{e9}\r\n\r\n",
        "GET /x HTTP/1.1\r\nX(y): b\r\n\r\n",
        "GET /x HTTP/1.1\r\n: b\r\n\r\n",
        "G\u{0}T /x HTTP/1.1\r\nHost: a\r\n\r\n",
        " GET /x HTTP/1.1\r\nHost: a\r\n\r\n",
        "GETTINGVERYLONGMETHOD /x HTTP/1.1\r\nHost: a\r\n\r\n",
        "CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n",  // llhttp reads CONNECT's target its own way
        "get /x HTTP/1.1\r\nHost: a\r\n\r\n",
        "BREW /x HTTP/1.1\r\nHost: a\r\n\r\n",
        "BR",  // not the start of a method read here
    ])
    func anythingNotPlainIsLeftToNIO(_ text: String) {
        #expect(self.scan(text).outcome == .notPlain, "\(text.debugDescription)")
    }

    @Test func tooManyFieldsOrTooLongIsLeftToNIO() {
        let fields = (0..<RequestHeadScanner.maximumFields).map { "X-\($0): v\r\n" }.joined()
        #expect(self.scan("GET /x HTTP/1.1\r\n\(fields)\r\n").outcome != .notPlain)
        #expect(self.scan("GET /x HTTP/1.1\r\n\(fields)X: y\r\n\r\n").outcome == .notPlain)
        let long = "GET /x HTTP/1.1\r\nCookie: " + String(repeating: "a", count: RequestHeadScanner.maximumLength)
        #expect(self.scan(long).outcome == .notPlain, "a head still arriving past the limit is NIO's")
        #expect(self.scan(String(decoding: long.utf8.prefix(RequestHeadScanner.maximumLength - 1), as: UTF8.self)).outcome == .incomplete)
    }

    @Test func emptyValuesAndSurroundingWhitespace() {
        #expect(self.scan("GET /x HTTP/1.1\r\nHost: a\r\nX:\r\nZ:\tz\r\n\r\n").fields == ["Host=a", "X=", "Z=z"])
        // Whitespace alone is an empty value that parsers read differently: NIO's to read.
        #expect(self.scan("GET /x HTTP/1.1\r\nHost: a\r\nY: \t \r\n\r\n").outcome == .notPlain)
        #expect(self.scan("GET /x HTTP/1.1\r\nHost: a\r\nY: \r\n\r\n").outcome == .notPlain)
    }
}
