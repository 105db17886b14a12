/*
 * Drives the Government Office's VXP SDK (com.vpcp.services, 2.0.0 or 2.0.1) for the tests: one
 * JSON command per line on stdin, one JSON answer per line on the real stdout. The SDK prints its
 * own chatter to System.out, so System.out is pointed at stderr before the SDK is touched.
 *
 * Started as: java -cp <sdk jar>:<deps>/*:<this class dir> VxpSdkDriver <endpoint> <systemId> <secretFile> <storeDir>
 * Commands: {"op":"sendEdoc","json":"…","file":"…"} · {"op":"getReceivedEdocList","json":"…"}
 *   · {"op":"getEdoc","json":"…"} · {"op":"updateStatus","json":"…"} · {"op":"getSentEdocList","json":"…"}
 *   · {"op":"countReceiveEdoc"} · {"op":"countReceiveStatus"} · {"op":"getAgenciesList"}
 *   · {"op":"getAgenciesListQD20"} · {"op":"getSynchronizeUnit"}
 *   · {"op":"renew"} (new service objects: the SDK stamps its timestamp when they are made)
 *   · {"op":"receiveLoop","messagetype":"edoc"|"status","dir":"…","status":"done"|"fail","max":n}
 *     (the legacy system's loop: list, then getEdoc and updateStatus for each, as the SDK's example does)
 * Answers: {"ok":true,"result":<the SDK's result object as Gson writes it>} or {"ok":false,"error":"…"}.
 */
import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.vpcp.services.AgencyServiceImp;
import com.vpcp.services.KnobstickServiceImp;
import com.vpcp.services.VnptProperties;
import com.vpcp.services.model.GetEdocResult;
import com.vpcp.services.model.GetReceivedEdocResult;
import com.vpcp.services.model.Knobstick;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public class VxpSdkDriver {
  public static void main(String[] args) throws Exception {
    PrintStream answers = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, "UTF-8");
    System.setOut(System.err);
    String secret = new String(Files.readAllBytes(Paths.get(args[2])), StandardCharsets.UTF_8).trim();
    VnptProperties props = new VnptProperties(args[0], args[1], secret, args[3], 10, 3);
    KnobstickServiceImp knobsticks = new KnobstickServiceImp(props);
    AgencyServiceImp agencies = new AgencyServiceImp(props);
    Gson gson = new Gson();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      if (line.trim().isEmpty()) continue;
      Map<String, Object> answer = new LinkedHashMap<>();
      try {
        JsonObject cmd = new JsonParser().parse(line).getAsJsonObject();
        String op = cmd.get("op").getAsString();
        String json = cmd.has("json") ? cmd.get("json").getAsString() : "{}";
        Object result;
        switch (op) {
          case "sendEdoc": result = knobsticks.sendEdoc(json, cmd.get("file").getAsString()); break;
          case "getReceivedEdocList": result = knobsticks.getReceivedEdocList(json); break;
          case "getEdoc": result = knobsticks.getEdoc(json); break;
          case "updateStatus": result = knobsticks.updateStatus(json); break;
          case "getSentEdocList": result = knobsticks.getSentEdocList(json); break;
          case "countReceiveEdoc": result = optional(knobsticks, op, json); break;
          case "countReceiveStatus": result = optional(knobsticks, op, json); break;
          case "getAgenciesList": result = agencies.getAgenciesList(json); break;
          case "getAgenciesListQD20": result = optional(agencies, op, json); break;
          case "getSynchronizeUnit": result = agencies.getSynchronizeUnit(json); break;
          case "receiveLoop": result = receiveLoop(knobsticks, cmd); break;
          case "renew":
            knobsticks = new KnobstickServiceImp(props);
            agencies = new AgencyServiceImp(props);
            result = "renewed";
            break;
          default: throw new IllegalArgumentException("unknown op " + op);
        }
        answer.put("ok", true);
        answer.put("result", result);
      } catch (Throwable t) {
        StringWriter trace = new StringWriter();
        t.printStackTrace(new PrintWriter(trace));
        answer.put("ok", false);
        answer.put("error", t.toString());
        answer.put("trace", trace.toString());
      }
      answers.println(gson.toJson(answer));
    }
  }

  /** Calls that SDK 2.0.0 does not have (countReceiveEdoc, countReceiveStatus, getAgenciesListQD20). */
  static Object optional(Object service, String name, String json) throws Exception {
    java.lang.reflect.Method m;
    try {
      m = service.getClass().getMethod(name, String.class);
    } catch (NoSuchMethodException e) {
      throw new UnsupportedOperationException("this SDK version has no " + name);
    }
    try {
      return m.invoke(service, json);
    } catch (java.lang.reflect.InvocationTargetException e) {
      throw (e.getCause() instanceof Exception) ? (Exception) e.getCause() : e;
    }
  }

  /** The receive loop of the SDK's example: list, then fetch and confirm each package. */
  static Map<String, Object> receiveLoop(KnobstickServiceImp sdk, JsonObject cmd) {
    String messageType = cmd.get("messagetype").getAsString();
    String dir = cmd.get("dir").getAsString();
    String status = cmd.has("status") ? cmd.get("status").getAsString() : "done";
    int max = cmd.has("max") ? cmd.get("max").getAsInt() : Integer.MAX_VALUE;
    Map<String, Object> out = new LinkedHashMap<>();
    GetReceivedEdocResult list = sdk.getReceivedEdocList("{\"servicetype\":\"eDoc\",\"messagetype\":\"" + messageType + "\"}");
    out.put("list", list);
    List<Object> items = new ArrayList<>();
    if (list != null && list.getKnobsticks() != null) {
      for (Knobstick k : list.getKnobsticks()) {
        if (items.size() >= max) break;
        Map<String, Object> item = new LinkedHashMap<>();
        item.put("id", k.getId());
        GetEdocResult edoc = sdk.getEdoc("{\"filePath\":\"" + dir + "\",\"docId\":\"" + k.getId() + "\"}");
        item.put("getEdoc", edoc == null ? null : summary(edoc));
        if (edoc != null && edoc.getFilePath() != null) {
          item.put("update", sdk.updateStatus("{\"status\":\"" + status + "\",\"docId\":\"" + k.getId() + "\"}"));
        }
        items.add(item);
      }
    }
    out.put("items", items);
    return out;
  }

  /** getEdoc's result without its data (the package, which the test reads from filePath). */
  static Map<String, Object> summary(GetEdocResult r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("status", r.getStatus());
    m.put("errorCode", r.getErrorCode());
    m.put("errorDesc", r.getErrorDesc());
    m.put("filePath", r.getFilePath());
    return m;
  }
}
