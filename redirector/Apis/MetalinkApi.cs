using System.Globalization;
using System.Text;
using System.Xml;
using Downloads.Redirector.Geo;
using Downloads.Redirector.Snapshots;

namespace Downloads.Redirector.Apis;

/// <summary><c>{path}.meta4</c> and <c>?metalink</c>: a Metalink 4 document (RFC 5854) with size, SHA-256, piece hashes and the chosen mirrors by priority.</summary>
internal static class MetalinkApi
{
    public const string ContentType = "application/metalink4+xml";

    public static Task WriteAsync(HttpContext context, RedirectHandler handler, RoutingSnapshot snapshot, FileEntry file,
        ClientLocation client, bool https)
    {
        context.Response.Headers.CacheControl = "private, no-store";
        var name = file.Path[(file.Path.LastIndexOf('/') + 1)..];
        // filename* (RFC 6266/8187) carries any name; the plain filename gets an ASCII stand-in.
        var disposition = new Microsoft.Net.Http.Headers.ContentDispositionHeaderValue("inline");
        disposition.SetHttpFileName(name + ".meta4");
        context.Response.Headers.ContentDisposition = disposition.ToString();
        return TypedResults.Bytes(Build(handler, snapshot, file, client, https), ContentType).ExecuteAsync(context);
    }

    public static byte[] Build(RedirectHandler handler, RoutingSnapshot snapshot, FileEntry file, ClientLocation client, bool https)
    {
        Span<int> picks = stackalloc int[handler.Options.MaxAlternates];
        var count = handler.Selector.Select(snapshot, file, client, https, picks, account: false);
        using var buffer = new MemoryStream(1024 + file.ChunkCount * 100);
        var settings = new XmlWriterSettings { Indent = true, Encoding = new UTF8Encoding(false) };
        using (var xml = XmlWriter.Create(buffer, settings))
        {
            const string ns = "urn:ietf:params:xml:ns:metalink";
            xml.WriteStartDocument();
            xml.WriteStartElement("metalink", ns);
            xml.WriteElementString("generator", ns, "Downloads redirector");
            if (snapshot.Index.IsLoaded)
                xml.WriteElementString("published", ns, snapshot.Index.Published.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            xml.WriteStartElement("file", ns);
            xml.WriteAttributeString("name", file.Path[(file.Path.LastIndexOf('/') + 1)..]);
            xml.WriteElementString("size", ns, file.Size.ToString(CultureInfo.InvariantCulture));
            xml.WriteStartElement("hash", ns);
            xml.WriteAttributeString("type", "sha-256");
            xml.WriteString(file.Sha256Hex);
            xml.WriteEndElement();
            if (file.ChunkCount > 0)
            {
                xml.WriteStartElement("pieces", ns);
                xml.WriteAttributeString("length", snapshot.Index.ChunkSize.ToString(CultureInfo.InvariantCulture));
                xml.WriteAttributeString("type", "sha-256");
                for (var i = 0; i < file.ChunkCount; i++)
                    xml.WriteElementString("hash", ns, file.ChunkHex(i));
                xml.WriteEndElement();
            }
            if (count == 0)
            {
                // No mirror qualifies: the fallbacks and the origin, in order.
                for (var i = 0; i < handler.Fallbacks.Count; i++)
                    WriteUrl(xml, ns, handler.Fallbacks[i] + "/" + file.EscapedPath, "", i + 1);
            }
            for (var i = 0; i < count; i++)
            {
                var mirror = snapshot.Mirrors[picks[i]];
                WriteUrl(xml, ns, mirror.BaseUrl(https) + "/" + file.EscapedPath, mirror.CountryLower, i + 1);
            }
            xml.WriteEndElement();
            xml.WriteEndElement();
        }
        return buffer.ToArray();
    }

    private static void WriteUrl(XmlWriter xml, string ns, string url, string location, int priority)
    {
        xml.WriteStartElement("url", ns);
        if (location.Length > 0)
            xml.WriteAttributeString("location", location);
        xml.WriteAttributeString("priority", priority.ToString(CultureInfo.InvariantCulture));
        xml.WriteString(url);
        xml.WriteEndElement();
    }
}
