import CompressNIO
public import NIOCore

/// gzip (RFC 1952) through zlib. Bundles are compressed once per version, so the slowest, smallest level is the right one.
public enum Gzip {
    public static func compress(_ data: ByteBuffer) throws -> ByteBuffer {
        var input = data
        return try input.compress(with: .gzip(configuration: .init(compressionLevel: .bestCompression, memoryLevel: .memory256K)))
    }

    public static func decompress(_ data: ByteBuffer) throws -> ByteBuffer {
        var input = data
        return try input.decompress(with: .gzip())
    }
}
