using Downloads.Contracts.Identity;
using Downloads.Contracts.Manifests;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Downloads.Origin.Apis;

/// <summary>
/// Serves the approved mirrors' public keys as a <see cref="MirrorKeyList"/> signed with the manifest key, for tier-1
/// mirrors to verify the signed requests of the mirrors that sync from them. Built again when the approved keys change
/// or half its lifetime has passed, never per request; 503 when the origin has no signing key.
/// </summary>
public static class MirrorKeysApi
{
    /// <summary>Maps <see cref="MirrorKeyList.Path"/> and <see cref="MirrorKeyList.SignaturePath"/>.</summary>
    public static IEndpointRouteBuilder MapMirrorKeys(this IEndpointRouteBuilder app)
    {
        var signed = new SignedList();
        app.MapMethods(MirrorKeyList.Path, ["GET", "HEAD"], ([FromServices] MirrorKeyDirectory keys, IOptions<OriginOptions> options, TimeProvider time) =>
            signed.Current(keys, options.Value, time) is { } s ? Results.Bytes(s.Bytes, "application/json") : Unavailable());
        app.MapMethods(MirrorKeyList.SignaturePath, ["GET", "HEAD"], ([FromServices] MirrorKeyDirectory keys, IOptions<OriginOptions> options, TimeProvider time) =>
            signed.Current(keys, options.Value, time) is { } s ? Results.Text(s.Signature, "text/plain") : Unavailable());
        return app;
    }

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult Unavailable() =>
        TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not published", detail: "this origin has no signing key");

    private sealed record Signed(IReadOnlyDictionary<string, string> From, DateTimeOffset Issued, byte[] Bytes, string Signature);

    /// <summary>The list now: the last one while the keys are the same instance and it is under half its lifetime old.</summary>
    private sealed class SignedList
    {
        private Signed? _last;

        public Signed? Current(MirrorKeyDirectory keys, OriginOptions options, TimeProvider time)
        {
            var now = time.GetUtcNow();
            var from = keys.PublicKeys;
            var last = Volatile.Read(ref _last);
            if (last is not null && ReferenceEquals(last.From, from) && now - last.Issued < MirrorKeyList.Lifetime / 2)
                return last;
            string privateKey;
            try
            {
                privateKey = options.LoadPrivateKey();
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException or UnauthorizedAccessException)
            {
                return null;
            }
            var issued = DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds());
            var bytes = new MirrorKeyList(issued, issued + MirrorKeyList.Lifetime, from).Serialize();
            var signed = new Signed(from, issued, bytes, ManifestSigner.Sign(bytes, privateKey));
            Volatile.Write(ref _last, signed);
            return signed;
        }
    }
}
