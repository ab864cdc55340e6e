namespace Downloads.Redirector.Apis;

/// <summary>Client errors as RFC 9457 problem details with a one-line reason; never a stack trace.</summary>
internal static class Problems
{
    public static Task Write(HttpContext context, int status, string reason)
    {
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Problem(detail: reason, statusCode: status).ExecuteAsync(context);
    }
}
