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

    /// For tests and tools: the original bytes of a brotli stream.
    public static func decompress(_ data: ByteBuffer, maximumSize: Int = 1 << 24) throws -> ByteBuffer {
        var output = ByteBufferAllocator().buffer(capacity: maximumSize)
        var succeeded = false
        data.withUnsafeReadableBytes { input in
            _ = output.writeWithUnsafeMutableBytes(minimumWritableBytes: maximumSize) { buffer in
                var size = buffer.count
                succeeded = BrotliDecoderDecompress(
                    input.count, input.bindMemory(to: UInt8.self).baseAddress, &size, buffer.bindMemory(to: UInt8.self).baseAddress
                ) == BROTLI_DECODER_RESULT_SUCCESS
                return succeeded ? size : 0
            }
        }
        guard succeeded else { throw Failure(description: "not a brotli stream, or larger than \(maximumSize) bytes") }
        return output
    }
}
