//! Vietnam's 54 ethnic groups, as a vocabulary and with the General Statistics Office's numbers.

use serde::Serialize;
use utoipa::ToSchema;

use super::Vocabulary;
use super::vocabulary::vocabulary;

vocabulary! {
    /// Vietnam's 54 ethnic groups (the General Statistics Office's list, decision 121-TCTK/PPCĐ).
    Ethnicity, ETHNICITIES {
        Kinh = "kinh", "Kinh", "Kinh (Viet)";
        Tay = "tay", "Tày", "Tay";
        Thai = "thai", "Thái", "Thai";
        Hoa = "hoa", "Hoa", "Hoa (Chinese)";
        Khmer = "khmer", "Khơ-me", "Khmer";
        Muong = "muong", "Mường", "Muong";
        Nung = "nung", "Nùng", "Nung";
        Hmong = "hmong", "H'Mông", "Hmong";
        Dao = "dao", "Dao", "Dao (Yao)";
        GiaRai = "gia_rai", "Gia-rai", "Jarai";
        Ngai = "ngai", "Ngái", "Ngai";
        EDe = "e_de", "Ê-đê", "Ede";
        BaNa = "ba_na", "Ba-na", "Bahnar";
        XoDang = "xo_dang", "Xơ-đăng", "Xo Dang (Sedang)";
        SanChay = "san_chay", "Sán Chay", "San Chay";
        CoHo = "co_ho", "Cơ-ho", "Koho";
        Cham = "cham", "Chăm", "Cham";
        SanDiu = "san_diu", "Sán Dìu", "San Diu";
        Hre = "hre", "Hrê", "Hre";
        Mnong = "mnong", "Mnông", "Mnong";
        RaGlai = "ra_glai", "Ra-glai", "Raglai";
        Xtieng = "xtieng", "Xtiêng", "Stieng";
        BruVanKieu = "bru_van_kieu", "Bru-Vân Kiều", "Bru-Van Kieu";
        Tho = "tho", "Thổ", "Tho";
        Giay = "giay", "Giáy", "Giay";
        CoTu = "co_tu", "Cơ-tu", "Katu";
        GieTrieng = "gie_trieng", "Gié Triêng", "Gie Trieng";
        Ma = "ma", "Mạ", "Ma";
        KhoMu = "kho_mu", "Khơ-mú", "Khmu";
        Co = "co", "Co", "Co";
        TaOi = "ta_oi", "Tà-ôi", "Ta Oi";
        ChoRo = "cho_ro", "Chơ-ro", "Cho Ro";
        Khang = "khang", "Kháng", "Khang";
        XinhMun = "xinh_mun", "Xinh-mun", "Xinh Mun";
        HaNhi = "ha_nhi", "Hà Nhì", "Ha Nhi (Hani)";
        ChuRu = "chu_ru", "Chu-ru", "Chu Ru";
        Lao = "lao", "Lào", "Lao";
        LaChi = "la_chi", "La Chí", "La Chi";
        LaHa = "la_ha", "La Ha", "La Ha";
        PhuLa = "phu_la", "Phù Lá", "Phu La";
        LaHu = "la_hu", "La Hủ", "La Hu (Lahu)";
        Lu = "lu", "Lự", "Lu";
        LoLo = "lo_lo", "Lô Lô", "Lo Lo";
        Chut = "chut", "Chứt", "Chut";
        Mang = "mang", "Mảng", "Mang";
        PaThen = "pa_then", "Pà Thẻn", "Pa Then";
        CoLao = "co_lao", "Cơ Lao", "Co Lao";
        Cong = "cong", "Cống", "Cong";
        BoY = "bo_y", "Bố Y", "Bo Y";
        SiLa = "si_la", "Si La", "Si La";
        PuPeo = "pu_peo", "Pu Péo", "Pu Peo";
        Brau = "brau", "Brâu", "Brau";
        ODu = "o_du", "Ơ Đu", "O Du";
        RoMam = "ro_mam", "Rơ-măm", "Ro Mam";
    }
}

/// One of Vietnam's 54 ethnic groups.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
pub struct EthnicGroup {
    /// The value used by the API (`kinh`, `thai`, `hmong`, ...).
    #[schema(value_type = Ethnicity)]
    pub code: &'static str,
    /// The General Statistics Office's number (01-54, decision 121-TCTK/PPCĐ).
    pub gso_code: &'static str,
    pub name_vi: &'static str,
    pub name_en: &'static str,
    /// False only for the Kinh majority; attendance counts of ethnic minorities follow this.
    pub minority: bool,
}

const fn group(
    code: &'static str,
    gso_code: &'static str,
    name_vi: &'static str,
    name_en: &'static str,
) -> EthnicGroup {
    EthnicGroup {
        code,
        gso_code,
        name_vi,
        name_en,
        minority: !matches!(code.as_bytes(), b"kinh"),
    }
}

/// Vietnam's 54 ethnic groups in the General Statistics Office's order.
pub const ETHNIC_GROUPS: [EthnicGroup; 54] = [
    group("kinh", "01", "Kinh", "Kinh (Viet)"),
    group("tay", "02", "Tày", "Tay"),
    group("thai", "03", "Thái", "Thai"),
    group("hoa", "04", "Hoa", "Hoa (Chinese)"),
    group("khmer", "05", "Khơ-me", "Khmer"),
    group("muong", "06", "Mường", "Muong"),
    group("nung", "07", "Nùng", "Nung"),
    group("hmong", "08", "H'Mông", "Hmong"),
    group("dao", "09", "Dao", "Dao (Yao)"),
    group("gia_rai", "10", "Gia-rai", "Jarai"),
    group("ngai", "11", "Ngái", "Ngai"),
    group("e_de", "12", "Ê-đê", "Ede"),
    group("ba_na", "13", "Ba-na", "Bahnar"),
    group("xo_dang", "14", "Xơ-đăng", "Xo Dang (Sedang)"),
    group("san_chay", "15", "Sán Chay", "San Chay"),
    group("co_ho", "16", "Cơ-ho", "Koho"),
    group("cham", "17", "Chăm", "Cham"),
    group("san_diu", "18", "Sán Dìu", "San Diu"),
    group("hre", "19", "Hrê", "Hre"),
    group("mnong", "20", "Mnông", "Mnong"),
    group("ra_glai", "21", "Ra-glai", "Raglai"),
    group("xtieng", "22", "Xtiêng", "Stieng"),
    group("bru_van_kieu", "23", "Bru-Vân Kiều", "Bru-Van Kieu"),
    group("tho", "24", "Thổ", "Tho"),
    group("giay", "25", "Giáy", "Giay"),
    group("co_tu", "26", "Cơ-tu", "Katu"),
    group("gie_trieng", "27", "Gié Triêng", "Gie Trieng"),
    group("ma", "28", "Mạ", "Ma"),
    group("kho_mu", "29", "Khơ-mú", "Khmu"),
    group("co", "30", "Co", "Co"),
    group("ta_oi", "31", "Tà-ôi", "Ta Oi"),
    group("cho_ro", "32", "Chơ-ro", "Cho Ro"),
    group("khang", "33", "Kháng", "Khang"),
    group("xinh_mun", "34", "Xinh-mun", "Xinh Mun"),
    group("ha_nhi", "35", "Hà Nhì", "Ha Nhi (Hani)"),
    group("chu_ru", "36", "Chu-ru", "Chu Ru"),
    group("lao", "37", "Lào", "Lao"),
    group("la_chi", "38", "La Chí", "La Chi"),
    group("la_ha", "39", "La Ha", "La Ha"),
    group("phu_la", "40", "Phù Lá", "Phu La"),
    group("la_hu", "41", "La Hủ", "La Hu (Lahu)"),
    group("lu", "42", "Lự", "Lu"),
    group("lo_lo", "43", "Lô Lô", "Lo Lo"),
    group("chut", "44", "Chứt", "Chut"),
    group("mang", "45", "Mảng", "Mang"),
    group("pa_then", "46", "Pà Thẻn", "Pa Then"),
    group("co_lao", "47", "Cơ Lao", "Co Lao"),
    group("cong", "48", "Cống", "Cong"),
    group("bo_y", "49", "Bố Y", "Bo Y"),
    group("si_la", "50", "Si La", "Si La"),
    group("pu_peo", "51", "Pu Péo", "Pu Peo"),
    group("brau", "52", "Brâu", "Brau"),
    group("o_du", "53", "Ơ Đu", "O Du"),
    group("ro_mam", "54", "Rơ-măm", "Ro Mam"),
];
