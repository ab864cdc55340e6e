using Microsoft.AspNetCore.Http;

namespace Downloads.Testing;

/// <summary>A response body that never ends on its own (a faulty or hostile upstream), for size-cap tests.</summary>
public static class EndlessBody
{
    /// <summary>
    /// Writes <paramref name="blockBytes"/> at a time until the client leaves or <paramref name="maxBlocks"/>
    /// blocks went out, adding each block that went out to <paramref name="sent"/>. Paced (1 ms a block) so a
    /// client that left is noticed: Kestrel completes writes to a closed connection silently.
    /// </summary>
    public static async Task WriteAsync(HttpContext context, int blockBytes, int maxBlocks, Action<int> sent)
    {
        var block = new byte[blockBytes];
        block.AsSpan().Fill((byte)' ');
        for (var i = 0; i < maxBlocks && !context.RequestAborted.IsCancellationRequested; i++)
        {
            try
            {
                await context.Response.Body.WriteAsync(block, context.RequestAborted);
                sent(block.Length);
                await Task.Delay(1, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
