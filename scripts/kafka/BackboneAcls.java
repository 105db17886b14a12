// Applies the ACLs `vdxp backbone acl … --format json` prints through Kafka's Java AdminClient
// (node-rdkafka has no ACL calls). `vdxp backbone acl --apply` runs it as a single-file program:
//
//   vdxp backbone acl <OrganId> --username vdxp-h41 --format json \
//     | java -cp "$KAFKA_LIBS/*" scripts/kafka/BackboneAcls.java --bootstrap-server host:9093 --command-config admin.properties [--prune]
//
// For each principal in the input it lists the ACLs the broker holds, adds the missing ones and,
// with --prune, deletes those the input does not list, so the principal ends with exactly these.
// admin.properties holds the admin's client settings (security.protocol, sasl.*, ssl.*). It prints
// one line per ACL: "added", "present", "extra" (held, not listed) or "removed". Exit 0 when the
// broker holds the listed ACLs; 1 with the broker's reason otherwise; 2 on wrong arguments.
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;

public class BackboneAcls {
  public static void main(String[] args) throws Exception {
    String bootstrap = null;
    String commandConfig = null;
    boolean prune = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--bootstrap-server" -> bootstrap = i + 1 < args.length ? args[++i] : null;
        case "--command-config" -> commandConfig = i + 1 < args.length ? args[++i] : null;
        case "--prune" -> prune = true;
        default -> usage("unknown argument " + args[i]);
      }
    }
    if (bootstrap == null) usage("--bootstrap-server host:port is required");
    Properties props = new Properties();
    if (commandConfig != null) {
      try (InputStream in = Files.newInputStream(Path.of(commandConfig))) {
        props.load(in);
      }
    }
    props.put("bootstrap.servers", bootstrap);
    props.putIfAbsent("request.timeout.ms", "20000");
    props.putIfAbsent("default.api.timeout.ms", "30000");

    Map<String, AclBinding> wanted = new LinkedHashMap<>();
    for (JsonNode acl : new ObjectMapper().readTree(System.in)) {
      AclBinding binding = new AclBinding(
          new ResourcePattern(ResourceType.fromString(upper(acl, "resourceType")), text(acl, "name"), PatternType.fromString(upper(acl, "patternType"))),
          new AccessControlEntry(text(acl, "principal"), "*", AclOperation.fromString(upper(acl, "operation")), AclPermissionType.ALLOW));
      if (binding.isUnknown()) usage("not an ACL Kafka knows: " + acl);
      wanted.put(key(binding), binding);
    }
    Set<String> principals = new LinkedHashSet<>();
    for (AclBinding b : wanted.values()) principals.add(b.entry().principal());

    try (Admin admin = Admin.create(props)) {
      Map<String, AclBinding> held = new LinkedHashMap<>();
      for (String principal : principals) {
        AclBindingFilter filter = new AclBindingFilter(ResourcePatternFilter.ANY, new AccessControlEntryFilter(principal, null, AclOperation.ANY, AclPermissionType.ANY));
        for (AclBinding b : admin.describeAcls(filter).values().get(60, TimeUnit.SECONDS)) held.put(key(b), b);
      }
      List<AclBinding> missing = new ArrayList<>();
      for (Map.Entry<String, AclBinding> e : wanted.entrySet()) {
        if (held.containsKey(e.getKey())) System.out.println("present\t" + show(e.getValue()));
        else missing.add(e.getValue());
      }
      if (!missing.isEmpty()) admin.createAcls(missing).all().get(60, TimeUnit.SECONDS);
      for (AclBinding b : missing) System.out.println("added\t" + show(b));
      List<AclBindingFilter> extra = new ArrayList<>();
      for (Map.Entry<String, AclBinding> e : held.entrySet()) {
        if (wanted.containsKey(e.getKey())) continue;
        if (prune) extra.add(e.getValue().toFilter());
        else System.out.println("extra\t" + show(e.getValue()));
      }
      if (!extra.isEmpty()) {
        Collection<AclBinding> removed = new ArrayList<>();
        for (var result : admin.deleteAcls(extra).all().get(60, TimeUnit.SECONDS)) removed.add(result);
        for (AclBinding b : removed) System.out.println("removed\t" + show(b));
      }
    } catch (ExecutionException e) {
      System.err.println("BackboneAcls: the broker refused: " + e.getCause());
      System.exit(1);
    }
  }

  private static String text(JsonNode node, String field) {
    JsonNode v = node.get(field);
    if (v == null || !v.isTextual()) usage("each ACL needs a text field " + field + ": " + node);
    return v.asText();
  }

  /** Kafka's enum names: TOPIC, LITERAL, READ. */
  private static String upper(JsonNode node, String field) {
    return text(node, field).toUpperCase(java.util.Locale.ROOT);
  }

  private static String key(AclBinding b) {
    return String.join("\u0000", b.entry().principal(), b.entry().host(), b.entry().operation().name(), b.entry().permissionType().name(),
        b.pattern().resourceType().name(), b.pattern().patternType().name(), b.pattern().name());
  }

  private static String show(AclBinding b) {
    return String.join("\t", b.entry().permissionType().name(), b.entry().principal(), b.entry().operation().name(),
        b.pattern().resourceType().name(), b.pattern().patternType().name(), b.pattern().name());
  }

  private static void usage(String why) {
    System.err.println("BackboneAcls: " + why);
    System.err.println("usage: java -cp \"$KAFKA_LIBS/*\" BackboneAcls.java --bootstrap-server host:port [--command-config admin.properties] [--prune] < acls.json");
    System.exit(2);
  }
}
