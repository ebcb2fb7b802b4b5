import com.adobe.epubcheck.api.EpubCheck;
import com.adobe.epubcheck.util.DefaultReportImpl;
import java.io.File;

/** Checks several EPUBs in one JVM (EPUBCheck's own CLI takes one file, and each JVM start costs seconds). */
public class EpubCheckBatch {
    public static void main(String[] args) {
        int failed = 0;
        for (String path : args) {
            DefaultReportImpl report = new DefaultReportImpl(path);
            new EpubCheck(new File(path), report).check();
            int fatals = report.getFatalErrorCount(), errors = report.getErrorCount(), warnings = report.getWarningCount();
            System.out.println("RESULT " + path + " fatals=" + fatals + " errors=" + errors + " warnings=" + warnings);
            if (fatals + errors + warnings > 0) failed++;
        }
        System.exit(failed == 0 ? 0 : 1);
    }
}
