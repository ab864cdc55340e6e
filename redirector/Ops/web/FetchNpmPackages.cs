// Compiled by MSBuild's RoslynCodeTaskFactory (FetchNpmPackages.targets), not part of the redirector assembly. That
// factory compiles against .NET Standard 2.0 only, hence JSON through JsonReaderWriterFactory (the lock file read as
// XML) and System.Formats.Tar (in the .NET that runs `dotnet build`) reached by reflection.
#nullable enable
using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Net.Http;
using System.Reflection;
using System.Runtime.Serialization.Json;
using System.Security.Cryptography;
using System.Xml;
using System.Xml.Linq;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

/// <summary>
/// Installs the packages package-lock.json names into node_modules as `npm ci` would for packages without install
/// scripts, with no Node.js: each tarball is downloaded from the npm registry (or taken from node_modules/.tarballs when
/// already there), checked against the lock file's `integrity` (SHA-512) and unpacked. A box with only the .NET SDK builds.
/// </summary>
public sealed class FetchNpmPackages : Microsoft.Build.Utilities.Task
{
    private const string Prefix = "node_modules/";

    /// <summary>The package-lock.json (lockfileVersion 2 or 3: its "packages" map).</summary>
    [Required]
    public string LockFile { get; set; } = "";

    /// <summary>The registry to fetch from when the lock file has no "resolved" URL.</summary>
    [Required]
    public string Registry { get; set; } = "";

    public override bool Execute()
    {
        var root = Path.GetDirectoryName(Path.GetFullPath(LockFile))!;
        var cache = Path.Combine(root, "node_modules", ".tarballs");
        XElement lockFile;
        using (var json = JsonReaderWriterFactory.CreateJsonReader(File.ReadAllBytes(LockFile), XmlDictionaryReaderQuotas.Max))
            lockFile = XElement.Load(json);
        var packages = Member(lockFile, "packages");
        if (packages is null)
        {
            Log.LogError($"{LockFile} has no \"packages\" map (lockfileVersion 2 or 3 is needed); run `npm install --lockfile-version 3` once where Node.js is installed.");
            return false;
        }
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        foreach (var entry in packages.Elements())
        {
            var key = NameOf(entry);
            if (!key.StartsWith(Prefix, StringComparison.Ordinal) || Member(entry, "link") is not null)
                continue;
            var name = key.Substring(key.LastIndexOf(Prefix, StringComparison.Ordinal) + Prefix.Length);
            var version = Member(entry, "version")?.Value ?? "";
            var expected = Sha512Of(Member(entry, "integrity")?.Value ?? "");
            if (version.Length == 0 || expected is null)
            {
                Log.LogError($"{LockFile}: {name} has no version or no sha512 integrity; regenerate the lock file with npm.");
                return false;
            }
            var baseName = name.Substring(name.LastIndexOf('/') + 1);
            var url = Member(entry, "resolved")?.Value is { Length: > 0 } resolved
                ? resolved
                : $"{Registry.TrimEnd('/')}/{name}/-/{baseName}-{version}.tgz";
            var cached = Path.Combine(cache, $"{name.Replace('/', '+')}-{version}.tgz");
            byte[] tarball;
            if (File.Exists(cached) && Matches(tarball = File.ReadAllBytes(cached), expected))
            {
                Log.LogMessage(MessageImportance.Low, $"{name} {version}: from {cached}");
            }
            else
            {
                try
                {
                    using var response = http.GetAsync(url).GetAwaiter().GetResult();
                    if (!response.IsSuccessStatusCode)
                        throw new HttpRequestException($"the registry answered {(int)response.StatusCode} {response.ReasonPhrase}");
                    tarball = response.Content.ReadAsByteArrayAsync().GetAwaiter().GetResult();
                }
                catch (Exception ex) when (ex is HttpRequestException or System.Threading.Tasks.TaskCanceledException or IOException)
                {
                    Log.LogError($"Could not download {name} {version} (the /-/ops dashboard's chart library) from {url}: {ex.Message}. "
                        + "Check this machine's network or proxy (HTTPS_PROXY), or point the build at a reachable npm registry: "
                        + "dotnet build -p:NpmRegistry=https://registry.example/ (or set npm_config_registry). Node.js is not needed.");
                    return false;
                }
                if (!Matches(tarball, expected))
                {
                    Log.LogError($"{url} does not match the integrity package-lock.json pins for {name} {version} "
                        + $"(expected sha512-{Convert.ToBase64String(expected)}, got sha512-{Convert.ToBase64String(Sha512(tarball))}); "
                        + "nothing was installed. A registry or proxy served other bytes than npm published.");
                    return false;
                }
                Directory.CreateDirectory(cache);
                File.WriteAllBytes(cached, tarball);
                Log.LogMessage(MessageImportance.Normal, $"{name} {version}: downloaded from {url}, integrity verified");
            }
            var error = Unpack(tarball, Path.Combine(root, key));
            if (error is not null)
            {
                Log.LogError($"{name} {version}: {error}");
                return false;
            }
        }
        return true;
    }

    /// <summary>The SHA-512 of an SRI string ("sha512-BASE64", maybe among other algorithms), or null.</summary>
    private static byte[]? Sha512Of(string integrity)
    {
        foreach (var part in integrity.Split(' '))
        {
            if (part.StartsWith("sha512-", StringComparison.Ordinal))
            {
                try
                {
                    var hash = Convert.FromBase64String(part.Substring("sha512-".Length));
                    return hash.Length == 64 ? hash : null;
                }
                catch (FormatException)
                {
                    return null;
                }
            }
        }
        return null;
    }

    private static bool Matches(byte[] tarball, byte[] expected) => Sha512(tarball).SequenceEqual(expected);

    private static byte[] Sha512(byte[] data)
    {
        using var sha = SHA512.Create();
        return sha.ComputeHash(data);
    }

    /// <summary>A JSON object's member as JsonReaderWriterFactory maps it: an element named after it, or an "item" element carrying the name.</summary>
    private static XElement? Member(XElement element, string name) => element.Elements().FirstOrDefault(e => NameOf(e) == name);

    private static string NameOf(XElement element) => (string?)element.Attribute("item") ?? element.Name.LocalName;

    /// <summary>
    /// Unpacks an npm tarball (every entry under one top folder, usually "package/") into a fresh <paramref name="destination"/>
    /// with System.Formats.Tar, which refuses entries that would land outside the folder.
    /// </summary>
    private static string? Unpack(byte[] tarball, string destination)
    {
        var extract = Type.GetType("System.Formats.Tar.TarFile, System.Formats.Tar")
            ?.GetMethod("ExtractToDirectory", new[] { typeof(Stream), typeof(string), typeof(bool) });
        if (extract is null)
            return "unpacking needs the .NET SDK's MSBuild (dotnet build), which has System.Formats.Tar";
        var full = Path.GetFullPath(destination);
        var staging = full + ".unpacking";
        foreach (var dir in new[] { full, staging })
        {
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
        }
        Directory.CreateDirectory(staging);
        try
        {
            using (var gzip = new GZipStream(new MemoryStream(tarball), CompressionMode.Decompress))
                extract.Invoke(null, new object[] { gzip, staging, false });
        }
        catch (TargetInvocationException ex) when (ex.InnerException is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return $"the tarball cannot be unpacked: {ex.InnerException.Message}";
        }
        var top = Directory.GetDirectories(staging);
        if (top.Length != 1 || Directory.GetFiles(staging).Length != 0)
            return "the tarball does not hold its files under one top folder";
        Directory.Move(top[0], full);
        Directory.Delete(staging);
        return null;
    }
}
