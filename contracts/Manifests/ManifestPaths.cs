namespace Downloads.Contracts.Manifests;

/// <summary>Rules for the relative paths a manifest may name; shared so every service agrees.</summary>
public static class ManifestPaths
{
    /// <summary>Longest accepted relative path, in characters.</summary>
    public const int MaxLength = 1024;

    /// <summary>The set a path belongs to: its first segment.</summary>
    public static string SetOf(string path)
    {
        var slash = path.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? string.Empty : path[..slash];
    }

    /// <summary>
    /// True when <paramref name="path"/> is a clean relative path: non-empty segments of printable
    /// characters, no '.' or '..' segment, no backslash, no leading '-' set (reserved for service endpoints).
    /// </summary>
    public static bool IsValid(ReadOnlySpan<char> path)
    {
        if (path.IsEmpty || path.Length > MaxLength || path[0] == '/' || path[^1] == '/')
            return false;
        var segmentStart = 0;
        for (var i = 0; i <= path.Length; i++)
        {
            if (i < path.Length)
            {
                var c = path[i];
                if (c < 0x20 || c == 0x7f || c == '\\')
                    return false;
                if (c != '/')
                    continue;
            }
            var segment = path[segmentStart..i];
            if (segment.IsEmpty || segment is "." or "..")
                return false;
            if (segmentStart == 0 && segment is "-")
                return false;
            segmentStart = i + 1;
        }
        return true;
    }
}
