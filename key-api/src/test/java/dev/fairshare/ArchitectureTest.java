package dev.fairshare;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The layers' boundaries, checked on the compiled classes: the engine is plain Java, stores know
 * nothing of servlets or HTTP, the OpenAI handling knows nothing of stores or servlets, and the key
 * API reaches keys through the key service only.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ArchitectureTest {

  JavaClasses imported;

  @BeforeAll
  void importClasses() {
    // Production classes only: neither this module's tests nor the other modules' test fixtures
    // (their -tests.jar, such as fairshare-core's ManualClock and ModelWindowTest).
    imported =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .withImportOption(location -> !location.contains("-tests.jar"))
            .importPackages("dev.fairshare");
  }

  @Test
  void theCoreModuleReachesOnlyTheJdkAndItself() {
    classes()
        .that()
        .resideInAnyPackage("dev.fairshare.core..", "dev.fairshare.store")
        .should()
        .onlyDependOnClassesThat()
        .resideInAnyPackage("java..", "dev.fairshare.core..", "dev.fairshare.store")
        .because(
            "fairshare-core is the engine in plain Java, testable without a container and free of"
                + " servlets, config, JSON, Redis and JDBC (issue 12)")
        .check(imported);
  }

  @Test
  void onlyTheSharedStoreWiringReachesTheOptionalRedisModule() {
    noClasses()
        .that()
        .resideOutsideOfPackage("dev.fairshare.store.redis..")
        .and()
        .doNotHaveFullyQualifiedName("dev.fairshare.SharedStore")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("dev.fairshare.store.redis..", "io.lettuce..", "io.netty..")
        .because("fairshare-redis is optional: an application on the memory store ships without it")
        .check(imported);
  }

  @Test
  void theAdmissionPolicyReachesNoServletOrHttp() {
    noClasses()
        .that()
        .resideInAPackage("dev.fairshare.admission..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("jakarta..", "dev.fairshare.servlet..", "dev.fairshare.admin..")
        .because("the policy is tested without a server")
        .check(imported);
  }

  @Test
  void storesReachNoServletHttpOrKeyCode() {
    noClasses()
        .that()
        .resideInAPackage("dev.fairshare.store..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "jakarta.servlet..",
            "jakarta.ws..",
            "dev.fairshare.servlet..",
            "dev.fairshare.admin..",
            "dev.fairshare.keys..",
            "dev.fairshare.openai..")
        .check(imported);
  }

  @Test
  void theOpenAiHandlingReachesNoServletStoreKeysOrAdmin() {
    noClasses()
        .that()
        .resideInAPackage("dev.fairshare.openai..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "jakarta..",
            "dev.fairshare.servlet..",
            "dev.fairshare.store..",
            "dev.fairshare.keys..",
            "dev.fairshare.admin..")
        .check(imported);
  }

  @Test
  void theKeyApiReachesKeysThroughTheKeyServiceOnly() {
    noClasses()
        .that()
        .resideInAPackage("dev.fairshare.admin..")
        .should()
        .dependOnClassesThat()
        .haveSimpleName("KeyStore")
        .orShould()
        .dependOnClassesThat()
        .haveSimpleName("JdbcKeyStore")
        .orShould()
        .dependOnClassesThat()
        .resideInAnyPackage("dev.fairshare.store..", "dev.fairshare.servlet..", "jakarta.servlet..")
        .check(imported);
  }

  @Test
  void keysReachNoServletHttpStoreOrOpenAiCode() {
    noClasses()
        .that()
        .resideInAPackage("dev.fairshare.keys..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "jakarta.servlet..",
            "jakarta.ws..",
            "dev.fairshare.servlet..",
            "dev.fairshare.admin..",
            "dev.fairshare.store..",
            "dev.fairshare.openai..")
        .check(imported);
  }

  @Test
  void theServletLayerReachesNoJaxRsAndNoRedisClient() {
    noClasses()
        .that()
        .resideInAPackage("dev.fairshare.servlet..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("jakarta.ws..", "io.lettuce..", "dev.fairshare.admin..")
        .check(imported);
  }
}
