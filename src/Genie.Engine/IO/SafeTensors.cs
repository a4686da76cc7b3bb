using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Genie.Core.IO;

namespace Genie.Engine.IO;

/// <summary>Element types this project reads and writes in safetensors files.</summary>
public enum SafeTensorsDType
{
    /// <summary>IEEE float32.</summary>
    F32,
    /// <summary>bfloat16 (the top half of a float32; rounded to nearest even on write).</summary>
    BF16,
}

/// <summary>One tensor read from a safetensors file, as float32 on the host.</summary>
/// <param name="Shape">Dimensions.</param>
/// <param name="Data">Values, row-major.</param>
/// <param name="DType">Element type it was stored as.</param>
public sealed record SafeTensor(int[] Shape, float[] Data, SafeTensorsDType DType);

/// <summary>
/// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian header length,
/// a JSON header mapping names to dtype, shape and byte offsets (plus optional string metadata under
/// <c>__metadata__</c>), then the raw little-endian data. Files are written atomically; reading checks every
/// offset and size so a truncated or corrupt file fails with a clear message instead of giving garbage.
/// </summary>
public static class SafeTensors
{
    private const long MaxHeader = 100L << 20;

    /// <summary>Writes named tensors, converting to <paramref name="dtype"/>, with optional metadata.</summary>
    public static void Save(string path, IEnumerable<(string Name, Tensor Value)> tensors, SafeTensorsDType dtype = SafeTensorsDType.F32,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.Select(t => (t.Name, t.Value.Shape, t.Value.ToArray())).ToList();
        SaveArrays(path, list, dtype, metadata);
    }

    /// <summary>Writes named host arrays (shape, values) with optional metadata.</summary>
    public static void SaveArrays(string path, IReadOnlyList<(string Name, int[] Shape, float[] Data)> tensors, SafeTensorsDType dtype = SafeTensorsDType.F32,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        int width = dtype == SafeTensorsDType.F32 ? 4 : 2;
        var header = new JsonObject();
        if (metadata is not null && metadata.Count > 0)
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata) meta[k] = v;
            header["__metadata__"] = meta;
        }
        var names = new HashSet<string>();
        long offset = 0;
        foreach (var (name, shape, data) in tensors)
        {
            if (!names.Add(name)) throw new ArgumentException($"duplicate tensor name '{name}'");
            if (Tensor.ShapeSize(shape) != data.Length) throw new ArgumentException($"tensor '{name}': {data.Length} values for shape {Tensor.Format(shape)}");
            long bytes = (long)data.Length * width;
            header[name] = new JsonObject
            {
                ["dtype"] = dtype.ToString(),
                ["shape"] = new JsonArray(shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }
        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        int pad = (8 - headerBytes.Length % 8) % 8; // keep the data 8-byte aligned, padding with spaces as the spec allows
        var padded = new byte[headerBytes.Length + pad];
        headerBytes.CopyTo(padded, 0);
        for (int i = headerBytes.Length; i < padded.Length; i++) padded[i] = (byte)' ';

        AtomicFile.Write(path, s =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded.Length);
            s.Write(len);
            s.Write(padded);
            var buf = new byte[1 << 16];
            foreach (var (_, _, data) in tensors)
            {
                int i = 0;
                while (i < data.Length)
                {
                    int n = Math.Min(data.Length - i, buf.Length / width);
                    for (int j = 0; j < n; j++)
                    {
                        if (dtype == SafeTensorsDType.F32) BinaryPrimitives.WriteSingleLittleEndian(buf.AsSpan(j * 4), data[i + j]);
                        else BinaryPrimitives.WriteUInt16LittleEndian(buf.AsSpan(j * 2), ToBFloat16(data[i + j]));
                    }
                    s.Write(buf, 0, n * width);
                    i += n;
                }
            }
        });
    }

    /// <summary>Reads every tensor and the metadata. Throws <see cref="InvalidDataException"/> naming the problem for a bad file.</summary>
    public static (Dictionary<string, SafeTensor> Tensors, Dictionary<string, string> Metadata) Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"no such safetensors file: {path}", path);
        var bytes = File.ReadAllBytes(path);
        string Where() => $"'{path}' is not a valid safetensors file";
        if (bytes.Length < 8) throw new InvalidDataException($"{Where()}: it is {bytes.Length} bytes long, shorter than the 8-byte header length");
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLen > (ulong)MaxHeader || 8 + (long)headerLen > bytes.Length)
            throw new InvalidDataException($"{Where()}: header length {headerLen} does not fit in a file of {bytes.Length} bytes (truncated?)");
        JsonObject header;
        try
        {
            header = JsonNode.Parse(bytes.AsSpan(8, (int)headerLen))?.AsObject() ?? throw new InvalidDataException($"{Where()}: empty header");
        }
        catch (JsonException e) { throw new InvalidDataException($"{Where()}: header is not JSON ({e.Message})", e); }

        long dataStart = 8 + (long)headerLen, dataLen = bytes.Length - dataStart;
        var metadata = new Dictionary<string, string>();
        var tensors = new Dictionary<string, SafeTensor>();
        var spans = new List<(long Begin, long End, string Name)>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
            {
                if (node is JsonObject meta)
                    foreach (var (k, v) in meta) metadata[k] = v?.GetValue<string>() ?? "";
                continue;
            }
            try
            {
                var obj = node!.AsObject();
                var dtypeText = obj["dtype"]!.GetValue<string>();
                var shape = obj["shape"]!.AsArray().Select(d => d!.GetValue<int>()).ToArray();
                var offs = obj["data_offsets"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
                SafeTensorsDType dtype = dtypeText switch
                {
                    "F32" => SafeTensorsDType.F32,
                    "BF16" => SafeTensorsDType.BF16,
                    _ => throw new InvalidDataException($"{Where()}: tensor '{name}' has dtype {dtypeText}; only F32 and BF16 are supported"),
                };
                int width = dtype == SafeTensorsDType.F32 ? 4 : 2;
                if (offs.Length != 2 || offs[0] < 0 || offs[1] < offs[0] || offs[1] > dataLen)
                    throw new InvalidDataException($"{Where()}: tensor '{name}' data [{string.Join(", ", offs)}) lies outside the {dataLen} data bytes (truncated?)");
                if (shape.Any(d => d < 0)) throw new InvalidDataException($"{Where()}: tensor '{name}' has a negative dimension");
                long count = shape.Aggregate(1L, (a, d) => a * d);
                if (count * width != offs[1] - offs[0])
                    throw new InvalidDataException($"{Where()}: tensor '{name}' of shape {Tensor.Format(shape)} {dtypeText} needs {count * width} bytes but has {offs[1] - offs[0]}");
                var data = new float[count];
                var src = bytes.AsSpan((int)(dataStart + offs[0]), (int)(offs[1] - offs[0]));
                for (int i = 0; i < data.Length; i++)
                    data[i] = dtype == SafeTensorsDType.F32 ? BinaryPrimitives.ReadSingleLittleEndian(src[(i * 4)..]) : FromBFloat16(BinaryPrimitives.ReadUInt16LittleEndian(src[(i * 2)..]));
                tensors[name] = new SafeTensor(shape, data, dtype);
                spans.Add((offs[0], offs[1], name));
            }
            catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException or JsonException)
            {
                throw new InvalidDataException($"{Where()}: entry '{name}' is malformed ({e.Message})", e);
            }
        }
        spans.Sort();
        for (int i = 1; i < spans.Count; i++)
            if (spans[i].Begin < spans[i - 1].End)
                throw new InvalidDataException($"{Where()}: tensors '{spans[i - 1].Name}' and '{spans[i].Name}' overlap");
        return (tensors, metadata);
    }

    /// <summary>Rounds a float to bfloat16 (round to nearest even; NaN stays NaN).</summary>
    public static ushort ToBFloat16(float f)
    {
        uint bits = BitConverter.SingleToUInt32Bits(f);
        if (float.IsNaN(f)) return (ushort)((bits >> 16) | 0x40);
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    /// <summary>Widens a bfloat16 to float.</summary>
    public static float FromBFloat16(ushort b) => BitConverter.UInt32BitsToSingle((uint)b << 16);
}
