package dev.fairshare;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The layers' boundaries, checked on the compiled classes: the engine is plain Java, stores know
 * nothing of servlets or HTTP, the OpenAI handling knows nothing of stores or servlets, and the
 * key API reaches keys through the key service only.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ArchitectureTest {

  JavaClasses classes;

  @BeforeAll
  void importClasses() {
    classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS).importPackages("dev.fairshare");
  }

  @Test
  void theCoreReachesNoContainerConfigJsonRedisJdbcOrOtherLayer() {
    noClasses().that().resideInAPackage("dev.fairshare.core..")
        .should().dependOnClassesThat().resideInAnyPackage(
            "jakarta..", "javax.servlet..", "javax.ws..", "javax.sql..", "java.sql..", "org.eclipse.microprofile..",
            "io.lettuce..", "io.netty..", "com.fasterxml..", "com.zaxxer..", "org.h2..", "org.postgresql..",
            "com.knuddels..", "com.github.benmanes..",
            "dev.fairshare.config..", "dev.fairshare.keys..", "dev.fairshare.openai..", "dev.fairshare.servlet..",
            "dev.fairshare.store..", "dev.fairshare.admin..")
        .because("the engine is plain Java, testable without a container (issue 12)")
        .check(classes);
  }

  @Test
  void theAdmissionPolicyReachesNoServletOrHttp() {
    noClasses().that().resideInAPackage("dev.fairshare.admission..")
        .should().dependOnClassesThat().resideInAnyPackage("jakarta..", "dev.fairshare.servlet..", "dev.fairshare.admin..")
        .because("the policy is tested without a server")
        .check(classes);
  }

  @Test
  void storesReachNoServletHttpOrKeyCode() {
    noClasses().that().resideInAPackage("dev.fairshare.store..")
        .should().dependOnClassesThat().resideInAnyPackage(
            "jakarta.servlet..", "jakarta.ws..", "dev.fairshare.servlet..", "dev.fairshare.admin..", "dev.fairshare.keys..",
            "dev.fairshare.openai..")
        .check(classes);
  }

  @Test
  void theOpenAiHandlingReachesNoServletStoreKeysOrAdmin() {
    noClasses().that().resideInAPackage("dev.fairshare.openai..")
        .should().dependOnClassesThat().resideInAnyPackage(
            "jakarta..", "dev.fairshare.servlet..", "dev.fairshare.store..", "dev.fairshare.keys..", "dev.fairshare.admin..")
        .check(classes);
  }

  @Test
  void theKeyApiReachesKeysThroughTheKeyServiceOnly() {
    noClasses().that().resideInAPackage("dev.fairshare.admin..")
        .should().dependOnClassesThat().haveSimpleName("KeyStore")
        .orShould().dependOnClassesThat().haveSimpleName("JdbcKeyStore")
        .orShould().dependOnClassesThat().resideInAnyPackage("dev.fairshare.store..", "dev.fairshare.servlet..", "jakarta.servlet..")
        .check(classes);
  }

  @Test
  void keysReachNoServletHttpStoreOrOpenAiCode() {
    noClasses().that().resideInAPackage("dev.fairshare.keys..")
        .should().dependOnClassesThat().resideInAnyPackage(
            "jakarta.servlet..", "jakarta.ws..", "dev.fairshare.servlet..", "dev.fairshare.admin..", "dev.fairshare.store..",
            "dev.fairshare.openai..")
        .check(classes);
  }

  @Test
  void theServletLayerReachesNoJaxRsAndNoRedisClient() {
    noClasses().that().resideInAPackage("dev.fairshare.servlet..")
        .should().dependOnClassesThat().resideInAnyPackage("jakarta.ws..", "io.lettuce..", "dev.fairshare.admin..")
        .check(classes);
  }
}
