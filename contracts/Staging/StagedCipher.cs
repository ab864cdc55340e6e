using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Downloads.Contracts.Staging;

/// <summary>
/// Per-chunk AES-256-GCM of a staged file. Plaintext chunk <c>i</c> (the manifest's chunk size) becomes ciphertext
/// chunk <c>i</c> = ciphertext || 16-byte tag, with the nonce derived from <c>i</c> (unique per key: each file has its
/// own random key) and the id as associated data (a chunk cannot be replayed under another id). Ciphertext chunks
/// can be verified by hash before the key exists anywhere outside the origin.
/// </summary>
public static class StagedCipher
{
    /// <summary>Bytes of the GCM tag appended to every chunk.</summary>
    public const int TagSize = 16;

    /// <summary>Bytes of a key.</summary>
    public const int KeySize = 32;

    /// <summary>A new random key.</summary>
    public static byte[] NewKey() => RandomNumberGenerator.GetBytes(KeySize);

    /// <summary>A new random opaque id: 128 bits as 32 lower-case hex digits.</summary>
    public static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>Chunks of a stream of <paramref name="size"/> bytes in chunks of <paramref name="chunkSize"/>.</summary>
    public static int ChunkCount(long size, int chunkSize) => checked((int)((size + chunkSize - 1) / chunkSize));

    /// <summary>Ciphertext size of a plaintext of <paramref name="plainSize"/> bytes.</summary>
    public static long CipherSize(long plainSize, int plainChunkSize) => plainSize + (long)TagSize * ChunkCount(plainSize, plainChunkSize);

    /// <summary>Encrypts <paramref name="plain"/> into <paramref name="cipher"/>; returns the ciphertext chunk hashes.</summary>
    public static async Task<List<string>> EncryptAsync(Stream plain, Stream cipher, byte[] key, string id, int plainChunkSize, CancellationToken cancellationToken = default)
    {
        var aad = Encoding.ASCII.GetBytes(id);
        var input = new byte[plainChunkSize];
        var output = new byte[plainChunkSize + TagSize];
        var hashes = new List<string>();
        using var aes = new AesGcm(key, TagSize);
        for (long index = 0; ; index++)
        {
            var read = await plain.ReadAtLeastAsync(input, plainChunkSize, throwOnEndOfStream: false, cancellationToken);
            if (read == 0)
                break;
            aes.Encrypt(Nonce(index), input.AsSpan(0, read), output.AsSpan(0, read), output.AsSpan(read, TagSize), aad);
            await cipher.WriteAsync(output.AsMemory(0, read + TagSize), cancellationToken);
            hashes.Add(Convert.ToHexStringLower(SHA256.HashData(output.AsSpan(0, read + TagSize))));
            if (read < plainChunkSize)
                break;
        }
        return hashes;
    }

    /// <summary>Decrypts one ciphertext chunk into <paramref name="plain"/>; false when the tag does not match.</summary>
    public static bool TryDecryptChunk(AesGcm aes, string id, long index, ReadOnlySpan<byte> cipherChunk, Span<byte> plain)
    {
        if (cipherChunk.Length < TagSize)
            return false;
        var length = cipherChunk.Length - TagSize;
        try
        {
            aes.Decrypt(Nonce(index), cipherChunk[..length], cipherChunk[length..], plain[..length], Encoding.ASCII.GetBytes(id));
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    /// <summary>Decrypts a whole ciphertext stream into <paramref name="plain"/>; false when any chunk fails its tag.</summary>
    public static async Task<bool> DecryptAsync(Stream cipher, Stream plain, byte[] key, string id, int plainChunkSize, CancellationToken cancellationToken = default)
    {
        var input = new byte[plainChunkSize + TagSize];
        var output = new byte[plainChunkSize];
        using var aes = new AesGcm(key, TagSize);
        for (long index = 0; ; index++)
        {
            var read = await cipher.ReadAtLeastAsync(input, input.Length, throwOnEndOfStream: false, cancellationToken);
            if (read == 0)
                return true;
            if (!TryDecryptChunk(aes, id, index, input.AsSpan(0, read), output))
                return false;
            await plain.WriteAsync(output.AsMemory(0, read - TagSize), cancellationToken);
            if (read < input.Length)
                return true;
        }
    }

    private static byte[] Nonce(long index)
    {
        var nonce = new byte[12];
        BinaryPrimitives.WriteInt64BigEndian(nonce.AsSpan(4), index);
        return nonce;
    }
}
