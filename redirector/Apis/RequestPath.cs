using Downloads.Contracts.Manifests;

namespace Downloads.Redirector.Apis;

/// <summary>Rejects hostile request targets before any lookup, with a one-line reason.</summary>
internal static class RequestPath
{
    /// <summary>Longest raw request path accepted (a manifest path escaped can be up to 3× its length).</summary>
    public const int MaxRawLength = ManifestPaths.MaxLength * 3 + 1;

    /// <summary>
    /// Checks the raw target (before Kestrel decodes and normalises it, which would hide a traversal
    /// attempt) and the decoded path; returns null when acceptable, else the reason.
    /// </summary>
    public static string? Problem(ReadOnlySpan<char> rawTarget, ReadOnlySpan<char> decodedPath)
    {
        var query = rawTarget.IndexOf('?');
        var raw = query < 0 ? rawTarget : rawTarget[..query];
        if (raw.Length > MaxRawLength)
            return "path too long";
        for (var i = 0; i + 2 < raw.Length; i++)
        {
            if (raw[i] != '%')
                continue;
            var code = raw.Slice(i + 1, 2);
            if (code.Equals("2e", StringComparison.OrdinalIgnoreCase) || code.Equals("2f", StringComparison.OrdinalIgnoreCase)
                || code.Equals("5c", StringComparison.OrdinalIgnoreCase) || code.Equals("00", StringComparison.Ordinal))
                return "encoded '.', '/', '\\' or NUL in path";
        }
        if (raw.Contains('\\'))
            return "backslash in path";
        foreach (var range in raw.Split('/'))
        {
            var segment = raw[range];
            if (segment is "." or "..")
                return "'.' or '..' segment in path";
        }
        if (decodedPath.Length <= 1)
            return "no file named";
        if (decodedPath.Contains('\0'))
            return "NUL in path";
        if (!ManifestPaths.IsValid(decodedPath[1..]))
            return "not a valid file path";
        return null;
    }
}
