// Writes records whose key and header values are arbitrary bytes (node-rdkafka's producer can
// only write header values as UTF-8 strings): what a partner using another Kafka client may send.
// Run as a single-file program with the Kafka client jars on the class path:
//   java -cp "<kafka libs>/*" RawRecordProducer.java <bootstrap servers>   < records.jsonl
// Each input line: {"topic":"…","partition":0,"key":"<base64>"|null,"value":"<base64>","headers":[["name","<base64>"],…]}
// (a deliberately small JSON reader: the test writes these lines itself). Prints "sent <n>".
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class RawRecordProducer {
  private static final Pattern TOPIC = Pattern.compile("\"topic\":\"([^\"]+)\"");
  private static final Pattern PARTITION = Pattern.compile("\"partition\":(\\d+)");
  private static final Pattern KEY = Pattern.compile("\"key\":(null|\"([A-Za-z0-9+/=]*)\")");
  private static final Pattern VALUE = Pattern.compile("\"value\":\"([A-Za-z0-9+/=]*)\"");
  private static final Pattern HEADER = Pattern.compile("\\[\"((?:[^\"\\\\]|\\\\.)*)\",\"([A-Za-z0-9+/=]*)\"\\]");

  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.put("bootstrap.servers", args[0]);
    props.put("acks", "all");
    props.put("max.request.size", "1048576");
    props.put("key.serializer", ByteArraySerializer.class.getName());
    props.put("value.serializer", ByteArraySerializer.class.getName());
    Base64.Decoder b64 = Base64.getDecoder();
    int sent = 0;
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      for (String line; (line = in.readLine()) != null; ) {
        if (line.isBlank()) continue;
        Matcher t = TOPIC.matcher(line);
        Matcher v = VALUE.matcher(line);
        Matcher k = KEY.matcher(line);
        if (!t.find() || !v.find() || !k.find()) throw new IllegalArgumentException("bad line: " + line.substring(0, Math.min(80, line.length())));
        Matcher p = PARTITION.matcher(line);
        Integer partition = p.find() ? Integer.valueOf(p.group(1)) : null;
        byte[] key = k.group(2) == null ? null : b64.decode(k.group(2));
        List<org.apache.kafka.common.header.Header> headers = new ArrayList<>();
        int at = line.indexOf("\"headers\":");
        if (at >= 0) {
          Matcher h = HEADER.matcher(line.substring(at));
          while (h.find()) headers.add(new RecordHeader(h.group(1).replace("\\\"", "\"").replace("\\\\", "\\"), b64.decode(h.group(2))));
        }
        producer.send(new ProducerRecord<>(t.group(1), partition, key, b64.decode(v.group(1)), headers)).get();
        sent++;
      }
    }
    System.out.println("sent " + sent);
  }
}
