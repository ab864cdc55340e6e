using System.Net;
using Downloads.Contracts.Identity;
using Downloads.Contracts.Manifests;
using Downloads.Contracts.Redis;
using Downloads.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using NSec.Cryptography;

namespace Downloads.Origin.Tests.Apis;

/// <summary>The origin publishes the approved mirrors' keys, signed with its manifest key, for tier-1 mirrors (real Redis, real Kestrel).</summary>
public class MirrorKeysApiTests
{
    [Fact]
    public async Task The_signed_list_holds_the_approved_and_enabled_mirrors_keys_only_and_follows_a_revocation()
    {
        using var dir = new TempDirectory("origin-keys");
        await using var redis = new RedisServer();
        var root = Directory.CreateDirectory(dir.Combine("root")).FullName;
        var keyFile = dir.Combine("key");
        Assert.Equal(0, await OriginCommands.RunAsync(["keygen", "--out", keyFile], new StringWriter()));
        var pub = ManifestSigner.PublicKeyOf((await File.ReadAllTextAsync(keyFile)).Trim());
        using var approved = Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        using var pending = Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        var db = redis.Admin.GetDatabase();
        await db.SetAddAsync(Keyspace.Mirrors, ["uk-cam", "se-sto"]);
        await db.HashSetAsync(Keyspace.MirrorConfig("uk-cam"), [new("status", "approved"), new("enabled", "1"), new(Keyspace.ConfigFields.PublicKey, PublicOf(approved))]);
        await db.HashSetAsync(Keyspace.MirrorConfig("se-sto"), [new("status", "pending"), new("enabled", "1"), new(Keyspace.ConfigFields.PublicKey, PublicOf(pending))]);

        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using var app = OriginApp.Build([$"--urls={url}", $"--Origin:Root={root}", $"--Origin:StateDir={dir.Combine("state")}",
            $"--Origin:PrivateKeyFile={keyFile}", $"--Redis:Configuration={redis.Configuration}"]);
        await app.StartAsync();
        var directory = app.Services.GetRequiredService<MirrorKeyDirectory>();
        await directory.RefreshAsync();

        using var http = new HttpClient();
        var list = await ReadAsync(http, url, pub);
        Assert.Equal(new Dictionary<string, string> { ["uk-cam"] = PublicOf(approved) }, list.Keys);
        Assert.True(list.IsCurrent(DateTimeOffset.UtcNow));

        // Revoked (disabled): gone from the next list at once.
        await db.HashSetAsync(Keyspace.MirrorConfig("uk-cam"), "enabled", "0");
        await directory.RefreshAsync();
        Assert.Empty((await ReadAsync(http, url, pub)).Keys);
    }

    private static async Task<MirrorKeyList> ReadAsync(HttpClient http, string url, string pub)
    {
        var bytes = await http.GetByteArrayAsync(url + MirrorKeyList.Path);
        var signature = await http.GetStringAsync(url + MirrorKeyList.SignaturePath);
        Assert.Equal(PinnedKey.Current, new PinnedKeys(pub, "").Verify(bytes, signature));
        var list = MirrorKeyList.TryParse(bytes, out var error);
        Assert.True(list is not null, error);
        return list!;
    }

    private static string PublicOf(Key key) => Convert.ToBase64String(key.PublicKey.Export(KeyBlobFormat.RawPublicKey));
}
