using System.Security.Cryptography;
using Downloads.Mirror.Staging;
using Downloads.Mirror.Tests.Sync;
using Downloads.Origin.Staging;
using Downloads.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Downloads.Mirror.Tests.Staging;

/// <summary>What the staging tests share: a file staged by the origin's own <see cref="Stager"/>, and a mirror that polls for it.</summary>
internal static class StagingSetup
{
    public const string SecretPath = "os/zz-secret-launch-2027.img";

    /// <summary>Fast staging polls and no disk-room floor.</summary>
    public static readonly string[] Fast = ["--Staging:PollInterval=00:00:00.200", "--Staging:MinFreeBytes=0"];

    /// <summary>Stages <paramref name="size"/> random bytes as <see cref="SecretPath"/>, released an hour from now.</summary>
    public static async Task<StagedFile> StageAsync(SyncWorld world, int size)
    {
        var secret = RandomNumberGenerator.GetBytes(size);
        var source = world.Dir.Combine($"secret-{size}.img");
        await File.WriteAllBytesAsync(source, secret);
        var releaseAt = DateTimeOffset.UtcNow.AddHours(1);
        var record = await new Stager(world.OriginOptions, TimeProvider.System, NullLogger.Instance).StageAsync(source, SecretPath, releaseAt);
        return new(secret, record, releaseAt);
    }

    /// <summary>The origin's release run a second after the file's time (on a fake clock).</summary>
    public static Task<ReleaseResult> ReleaseAsync(SyncWorld world, DateTimeOffset releaseAt) =>
        new Stager(world.OriginOptions, new FakeTimeProvider(releaseAt.AddSeconds(1)), NullLogger.Instance).ReleaseDueAsync();

    /// <summary>Waits until <paramref name="mirror"/> holds the ciphertext of <paramref name="id"/>.</summary>
    public static async Task<StagedCiphertexts> HeldAsync(MirrorHandle mirror, string id, int seconds)
    {
        var staged = mirror.App.Services.GetRequiredService<StagedCiphertexts>();
        await Eventually.TrueAsync(() => staged.Held.Contains(id), TimeSpan.FromSeconds(seconds), $"ciphertext held (last error: {staged.LastError})");
        return staged;
    }

    /// <summary>Where a mirror with data folder <paramref name="dataDir"/> keeps the ciphertext of <paramref name="id"/>.</summary>
    public static string HeldPath(string dataDir, string id) => Path.Combine(dataDir, "staging", id + ".bin");

    /// <summary>The origin's ciphertext of <paramref name="id"/>.</summary>
    public static Task<byte[]> OriginCipherAsync(SyncWorld world, string id) =>
        File.ReadAllBytesAsync(new StagingFolder(world.OriginOptions.StateDir).CipherPath(id));
}

internal sealed record StagedFile(byte[] Bytes, StagedRecord Record, DateTimeOffset ReleaseAt);
