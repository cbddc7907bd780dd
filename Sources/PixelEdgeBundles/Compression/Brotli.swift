import CBrotli
public import NIOCore

/// Brotli (RFC 7932) through libbrotli, in text mode (bundles are JavaScript).
public enum Brotli {
    /// A bundle is compressed when it is rendered, and with a bounded cache that is on a request's path
    /// (a miss). On pb.js, quality 5 takes about 70 µs for 1,900 bytes; 11, the smallest, about 3 ms for 1,800:
    /// 40 times the time, 95 % of a cold render, for 100 bytes that change nothing on the wire (either way
    /// the answer is two TCP segments). The same quality on every node, so every node
    /// sends the same bytes under the same ETag.
    public static let quality: Int32 = 5

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func compress(_ data: ByteBuffer) throws -> ByteBuffer {
        let bound = BrotliEncoderMaxCompressedSize(data.readableBytes)
        // 0 means the bound does not fit in a size_t: not a bundle's size.
        guard bound > 0 else { throw Failure(description: "\(data.readableBytes) bytes are too many for one brotli block") }
        var output = ByteBufferAllocator().buffer(capacity: bound)
        var succeeded = false
        data.withUnsafeReadableBytes { input in
            _ = output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { buffer in
                var size = buffer.count
                succeeded = BrotliEncoderCompress(
                    Self.quality, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT,
                    input.count, input.bindMemory(to: UInt8.self).baseAddress, &size, buffer.bindMemory(to: UInt8.self).baseAddress
                ) == BROTLI_TRUE
                return succeeded ? size : 0
            }
        }
        guard succeeded else { throw Failure(description: "libbrotli could not compress the bundle") }
        return output
    }

    /// The original bytes of a brotli stream: a bundle's uncompressed body when only its brotli one was made
    /// (`BundleRepresentation.decodedBody`). Streamed into a buffer that grows as needed, so a body of a
    /// few KB takes a few KB; refused past `maximumSize`.
    public static func decompress(_ data: ByteBuffer, maximumSize: Int = 1 << 24) throws -> ByteBuffer {
        guard let decoder = BrotliDecoderCreateInstance(nil, nil, nil) else { throw Failure(description: "libbrotli could not allocate a decoder") }
        defer { BrotliDecoderDestroyInstance(decoder) }
        var output = ByteBufferAllocator().buffer(capacity: max(4096, data.readableBytes * 4))
        var result = BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT
        data.withUnsafeReadableBytes { input in
            var availableIn = input.count
            var nextIn = input.bindMemory(to: UInt8.self).baseAddress
            while result == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT, output.readableBytes < maximumSize {
                let room = min(max(output.writableBytes, 4096), maximumSize - output.readableBytes)
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: room) { buffer in
                    var availableOut = room
                    var nextOut = buffer.bindMemory(to: UInt8.self).baseAddress
                    result = BrotliDecoderDecompressStream(decoder, &availableIn, &nextIn, &availableOut, &nextOut, nil)
                    return room - availableOut
                }
            }
        }
        guard result == BROTLI_DECODER_RESULT_SUCCESS else {
            throw Failure(description: "not a whole brotli stream, or larger than \(maximumSize) bytes")
        }
        return output
    }
}
